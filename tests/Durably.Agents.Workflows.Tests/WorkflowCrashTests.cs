using Durably.Postgres.Tests;
using Durably.Sqlite;
using Durably.Sqlite.Tests;
using Durably.Storage;
using Microsoft.Agents.AI.Workflows;

namespace Durably.Agents.Workflows.Tests;

// A workflow host killed with SIGKILL inside its third executor, then started again on the same store: it resumes from the
// last checkpoint it reported, and the executors that completed before it do not run again.
public sealed class WorkflowCrashTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private readonly TestDatabase _database = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public Task Workflow_KilledMidWorkflowOnSqlite_ResumesFromLastCheckpoint()
        => KillAndResumeAsync(
            hangAt => ["sqlite", _folder.File("journal.db"), "session-1", _folder.File("effects.log"), hangAt],
            async () => await SqliteJournalStore.OpenAsync(_folder.File("journal.db")));

    [Fact]
    public Task Workflow_KilledMidWorkflowOnPostgres_ResumesFromLastCheckpoint()
        => KillAndResumeAsync(
            hangAt => ["postgres", TestDatabase.ConnectionString, _database.Schema, "session-1", _folder.File("effects.log"), hangAt],
            async () => await _database.OpenStoreAsync());

    private async Task KillAndResumeAsync(Func<string, string[]> args, Func<Task<IJournalStore>> open)
    {
        using (var first = WorkflowHostProcess.Start(args("draft")))
        {
            Assert.Equal("started", await first.WaitForLineAsync("started"));
            await first.WaitForLineAsync("hanging in draft");
            await first.KillAsync();
        }

        // What the killed process left: the checkpoints of the two supersteps that finished (plan, research), durable.
        CheckpointInfo[] left;
        await using (var journal = await open())
        {
            left = [.. await new DurablyCheckpointStore(journal).RetrieveIndexAsync("session-1")];
        }

        Assert.Equal(2, left.Length);
        Assert.Equal(["plan brief", "research brief>plan", "draft brief>plan>research"], File.ReadAllLines(_folder.File("effects.log")));

        using var second = WorkflowHostProcess.Start(args("-"));
        var lines = await second.WaitForExitAsync();

        Assert.Equal($"resumed from {left[1].CheckpointId}", lines[0]);
        Assert.Contains("output brief>plan>research>draft>publish", lines);
        Assert.Equal(
            [
                "plan brief",
                "research brief>plan",
                "draft brief>plan>research",   // in flight when killed: its superstep had no checkpoint, so it runs again
                "draft brief>plan>research",
                "publish brief>plan>research>draft",
            ],
            File.ReadAllLines(_folder.File("effects.log")));
    }
}
