using System.Text.Json;
using Durably.Journal;
using Durably.Storage;
using Durably.Tests.Runtime;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

// Shared helpers: JSON forms to compare responses by, and a crash at a chosen journal write.
internal static class AiTest
{
    private static readonly JsonSerializerOptions Compact = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };

    public static string Json(ChatResponse response) => JsonSerializer.Serialize(response, Compact);

    public static string Json(ChatResponseUpdate update) => JsonSerializer.Serialize(update, Compact);

    public static string Json(IEnumerable<ChatMessage> messages) => JsonSerializer.Serialize(messages, Compact);

    public static List<StepStarted> Steps(IReadOnlyList<JournalEntry> journal)
        => [.. journal.OfType<StepStarted>().GroupBy(s => s.Step).Select(g => g.Last()).OrderBy(s => s.Step)];

    // Runs the workflow until the store "crashes" at the first append matching crashWhen, then recovers it in a new
    // runtime (as a new process would) and returns the result.
    public static async Task<T> CrashAndRecoverAsync<T, TInput>(RuntimeHarness harness, Action<DurableRuntime> register, string workflow, TInput input, RunId runId, Func<RunAppend, bool> crashWhen, RunObserver? observer = null, RunObserver? recoveryObserver = null)
    {
        harness.Store.CrashWhen(crashWhen);
        var first = await harness.StartAsync(r =>
        {
            register(r);
            if (observer is not null)
            {
                r.AddObserver(observer);
            }
        });
        await first.Client.StartAsync(workflow, input, new StartRunOptions { RunId = runId });
        await harness.WaitForStatusAsync(runId, _ => harness.Store.Crashed);
        await harness.CrashAsync(first);

        var second = await harness.StartAsync(r =>
        {
            register(r);
            if (recoveryObserver is not null)
            {
                r.AddObserver(recoveryObserver);
            }
        });
        return await second.Client.GetResultAsync<T>(runId, RuntimeHarness.Timeout);
    }

    public static Func<RunAppend, bool> AtStep(string name) => a => a.Entries.OfType<StepStarted>().Any(s => s.Name == name);
}
