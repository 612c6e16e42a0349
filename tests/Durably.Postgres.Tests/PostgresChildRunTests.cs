using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;
using Durably.TestHost;
using Npgsql;
using Xunit.Abstractions;

namespace Durably.Postgres.Tests;

// Child runs across worker processes on one PostgreSQL schema: the worker that runs the lead agent and its sub-agents is
// killed with SIGKILL while every sub-agent is inside an effect; the other workers take the children over, and the parent,
// whose earlier activations were on the killed worker, is woken by reports from children that other processes finished.
public sealed class PostgresChildRunTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);
    private static readonly string[] Topics = ["wal", "lsm", "btree", "raft"];
    private readonly TestDatabase _database = new();
    private readonly List<WorkerProcess> _workers = [];
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-tests", Guid.NewGuid().ToString("N"));

    private string Ledger => Path.Combine(_folder, "ledger");

    [Fact]
    public async Task Workers_OneKilledWhileChildrenRun_OthersFinishTheChildrenAndTheParentWithEachChildBodyRunOnce()
    {
        await (await _database.OpenStoreAsync()).DisposeAsync();
        var first = await StartWorkerAsync("w-1");
        await using var store = await _database.OpenStoreAsync(PostgresSchemaMode.Validate);
        var client = new DurableClient(store);
        var parent = new RunId("lead-pg");
        var children = Enumerable.Range(1, Topics.Length).Select(step => RunId.ForChild(parent, step)).ToList();

        await client.StartAsync(ChildWorkflows.Lead, Topics, new StartRunOptions { RunId = parent });
        // Every sub-agent waits at the gate inside its second effect: the first one's outcome is durable.
        foreach (var child in children)
        {
            await first.WaitForLineAsync(l => l == $"at-gate {child}:2", TimeSpan.FromSeconds(60));
        }

        await StartWorkerAsync("w-2");

        // w-1 started the parent and its children, and runs the children now.
        var held = await HeldAsync("w-1");
        Assert.All(children, c => Assert.Contains(c, held));
        await WaitUntilAsync(async () => (await store.GetRunAsync(parent))!.Status == RunStatus.Suspended, TimeSpan.FromSeconds(30), "the parent is unloaded");
        await first.KillAsync();
        await File.WriteAllTextAsync(Ledger + ".go", string.Empty);
        await StartWorkerAsync("w-3");

        Assert.Equal(ChildWorkflows.Expected(Topics), await client.GetResultAsync<string>(parent, new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token));

        var lines = Lines();
        output.WriteLine(string.Join("\n", lines));
        var expected = children.SelectMany(c => new[] { $"fetch {c}:1", $"write {c}:2" }).Append($"publish {parent}:{Topics.Length + 1}");
        Assert.Equal(expected.Order(), lines.Select(l => string.Join(' ', l.Split(' ')[..2])).Order());
        Assert.All(lines.Where(l => l.StartsWith("fetch ", StringComparison.Ordinal)), l => Assert.EndsWith(" w-1", l, StringComparison.Ordinal));
        Assert.All(lines.Where(l => !l.StartsWith("fetch ", StringComparison.Ordinal)), l => Assert.DoesNotContain(" w-1", l, StringComparison.Ordinal));

        // Who resumed which run after the kill: never the dead worker.
        foreach (var run in children.Prepend(parent))
        {
            var journal = await store.ReadAsync(run);
            var resumedBy = journal.OfType<RunResumed>().Select(r => r.Worker).ToList();
            output.WriteLine($"{run}: resumed by {string.Join(", ", resumedBy)}");
            Assert.NotEmpty(resumedBy);
            Assert.NotEqual("w-1", resumedBy[^1]);
            Assert.Single(journal.OfType<RunCompleted>());
        }

        var report = await JournalVerifier.VerifyAsync(store);
        Assert.True(report.IsSound, string.Join("\n", report.Problems.Select(p => $"{p.RunId} {p.Sequence}: {p.Message}")));
        var timeline = await client.GetTimelineAsync(parent);
        Assert.Equal(children, timeline.Children);
        Assert.All(timeline.Steps.Where(s => s.Kind == StepKind.Child), s => Assert.Equal(RunStatus.Completed, s.ChildStatus));
        Assert.Equal(parent, (await client.GetTimelineAsync(children[0])).ParentRunId);
    }

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        return Task.CompletedTask;
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        await _database.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<WorkerProcess> StartWorkerAsync(string name)
    {
        var worker = await WorkerProcess.StartAsync(_database.Schema, name, Lease, Ledger);
        _workers.Add(worker);
        return worker;
    }

    // The workers append under an exclusive lock on the file; reading meanwhile fails, and is tried again.
    private List<string> Lines()
    {
        while (true)
        {
            try
            {
                return File.Exists(Ledger) ? [.. File.ReadAllLines(Ledger).Where(l => l.Length > 0)] : [];
            }
            catch (IOException)
            {
                Thread.Sleep(5);
            }
        }
    }

    private async Task<List<RunId>> HeldAsync(string worker)
    {
        await using var connection = await TestDatabase.ConnectAsync();
        await using var command = new NpgsqlCommand($"SELECT run_id FROM {_database.Schema}.runs WHERE lease_owner = $1 AND status < 3", connection) { Parameters = { new() { Value = worker } } };
        await using var reader = await command.ExecuteReaderAsync();
        var held = new List<RunId>();
        while (await reader.ReadAsync())
        {
            held.Add(new RunId(reader.GetString(0)));
        }

        return held;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(50);
        }
    }
}
