using Durably.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Durably.AspNetCore.Tests;

// The README's live progress example, compiled and run: the region below is the README's code block, line for line,
// and the test fails when the two drift apart.
public sealed class ReadmeLiveProgressTests
{
    [Fact]
    public async Task LiveProgress_ReadmeExample_MapsTheEndpointAndWatchesTheRunToItsEnd()
    {
        await using var store = new InMemoryJournalStore();
        await using var worker = new DurableRuntime(store);
        worker.Register<string, string>("research", async (ctx, topic) => await ctx.StepAsync("plan", _ => Task.FromResult("plan for " + topic)));
        await worker.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddAuthorization(o => o.AddPolicy("can-see-runs", p => p.RequireAuthenticatedUser()));
        await using var app = builder.Build();
        var client = new DurableClient(store);
        var runId = (await client.StartAsync("research", "write-ahead logging")).RunId;
        var output = new StringWriter();
        var console = Console.Out;
        Console.SetOut(output);
        try
        {
            // README live progress: begin
            // In the web app (Durably.AspNetCore): the run's events as server-sent events. Authorization is the app's.
            app.MapDurablyRunEvents("/runs/{runId}/events").RequireAuthorization("can-see-runs");

            // In .NET: the same events, resumed from the last cursor after a disconnect.
            string? cursor = null;
            await foreach (var e in client.GetRun(runId).WatchAsync(cursor))
            {
                cursor = e.Cursor;
                Console.WriteLine(e.Kind == RunEventKind.StepProgress ? e.Text : $"{e.Kind} {e.Name} {e.Preview}");
            }
            // README live progress: end

            Assert.Equal("3", cursor);
        }
        finally
        {
            Console.SetOut(console);
        }

        Assert.Equal(["RunStarted research", "StepStarted plan", "StepCompleted plan \"plan for write-ahead logging\"", "RunCompleted  \"plan for write-ahead logging\""], output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').TrimEnd()));
    }

    [Fact]
    public void LiveProgress_IsTheReadmeCodeBlock()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Durably.slnx")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("The repository root (Durably.slnx) is not above the test's folder.");
        }

        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var start = readme.IndexOf("```csharp", readme.IndexOf("## Live progress to clients", StringComparison.Ordinal), StringComparison.Ordinal) + "```csharp".Length;
        var block = Lines(readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)]);
        var source = File.ReadAllText(Path.Combine(root, "tests", "Durably.AspNetCore.Tests", "ReadmeLiveProgressTests.cs"));
        var from = source.IndexOf("// README live progress: begin", StringComparison.Ordinal) + "// README live progress: begin".Length;
        var region = Lines(source[from..source.IndexOf("// README live progress: end", from, StringComparison.Ordinal)]);

        Assert.Equal(block, region);
    }

    private static List<string> Lines(string text) => [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];
}
