using System.Security.Cryptography;

namespace Durably.Bench.Soak;

// An agent-like run: a context load (the same large document every fifth run, stored once), N-2 small tool and
// model steps, and a large generated answer every tenth run (unique bytes, a blob of its own).
internal static class SoakWorkload
{
    public const string Name = "soak-agent";

    public const int InlineLimit = 16 * 1024;

    public const int LargeBytes = 48 * 1024;

    private static readonly string SharedDocument = Convert.ToBase64String(RandomNumberGenerator.GetBytes(LargeBytes * 3 / 4));

    public static async Task<string> RunAsync(RunContext ctx, int n, int steps)
    {
        var context = await ctx.StepAsync("load-context", _ => Task.FromResult(n % 5 == 0 ? SharedDocument : "short context"));
        var total = context.Length;
        for (var i = 0; i < steps - 2; i++)
        {
            total += await ctx.StepAsync($"tool-{i}", _ => Task.FromResult((n * 31 + i) % 1000));
        }

        var answer = await ctx.StepAsync("answer", _ => Task.FromResult(n % 10 == 0
            ? Convert.ToBase64String(RandomNumberGenerator.GetBytes(LargeBytes * 3 / 4))
            : $"answer {n}: {total}"));
        return answer.Length > 100 ? "long answer" : answer;
    }
}
