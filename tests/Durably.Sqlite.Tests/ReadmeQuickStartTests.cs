using Durably.Journal;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite.Tests;

// The README's quick start, compiled and run: the region below is the README's code block, line for line
// (only the file name differs), and the test fails when the two drift apart.
public sealed class ReadmeQuickStartTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    [Fact]
    public async Task QuickStart_WorkerAndClient_PublishesAfterTheApproval()
    {
        var path = _folder.File("agent.db");
        var model = new Model();
        var search = new Search();
        var cms = new Cms();

        // README quick start: begin
        // The worker: registers workflows, executes runs, and first resumes every unfinished run in agent.db.
        await using var store = await SqliteJournalStore.OpenAsync(path);
        await using var worker = new DurableRuntime(store);
        worker.Register<string, string>("research", async (ctx, topic) =>
        {
            var plan = await ctx.StepAsync("plan", _ => model.PlanAsync(topic), StepOptions.Model);
            var notes = await ctx.StepAsync("search", step => search.QueryAsync(plan, step.IdempotencyKey), StepOptions.IdempotentEffect);
            var decision = await ctx.WaitForApprovalAsync("publish");   // unloaded until a person decides, even for days
            if (!decision.Approved)
            {
                return $"rejected by {decision.Approver}";
            }

            await ctx.StepAsync("publish", step => cms.PublishAsync(notes, step.IdempotencyKey), StepOptions.IdempotentEffect);
            return "published";
        });
        await worker.StartAsync();

        // A client needs only the store. (In the worker's process, worker.Client also wakes the worker at once.)
        var client = new DurableClient(store);
        var run = await client.StartAsync("research", "write-ahead logging", new() { RunId = new("research-42") });
        await client.ApproveAsync(new ApprovalRequest(run.RunId, "publish", Approver: "maria") { Comment = "ship it" });
        Console.WriteLine(await run.GetResultAsync<string>());
        // README quick start: end

        Assert.Equal("published", await run.GetResultAsync<string>());
        Assert.Equal(["research-42:2 plan for write-ahead logging"], cms.Published);
        var decision = (await store.ReadAsync(run.RunId, 0)).OfType<SignalReceived>().Single();
        Assert.Equal("maria", decision.Sender);
    }

    [Fact]
    public void QuickStart_IsTheReadmeCodeBlock()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Durably.slnx")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("The repository root (Durably.slnx) is not above the test's folder.");
        }

        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var start = readme.IndexOf("```csharp", readme.IndexOf("## Quick start", StringComparison.Ordinal), StringComparison.Ordinal) + "```csharp".Length;
        var block = Lines(readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)])
            .Where(l => !l.StartsWith("using ", StringComparison.Ordinal))
            .Select(l => l.Replace("OpenAsync(\"agent.db\")", "OpenAsync(path)", StringComparison.Ordinal));
        var source = File.ReadAllText(Path.Combine(root, "tests", "Durably.Sqlite.Tests", "ReadmeQuickStartTests.cs"));
        var from = source.IndexOf("// README quick start: begin", StringComparison.Ordinal) + "// README quick start: begin".Length;
        var region = Lines(source[from..source.IndexOf("// README quick start: end", from, StringComparison.Ordinal)]);

        Assert.Equal(block, region);
    }

    private static List<string> Lines(string text) => [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];

    private sealed class Model
    {
        public Task<string> PlanAsync(string topic) => Task.FromResult("plan for " + topic);
    }

    private sealed class Search
    {
        public Task<string> QueryAsync(string plan, string key) => Task.FromResult($"{key} {plan}");
    }

    private sealed class Cms
    {
        public List<string> Published { get; } = [];

        public Task PublishAsync(string notes, string key)
        {
            Published.Add(notes);
            return Task.CompletedTask;
        }
    }
}
