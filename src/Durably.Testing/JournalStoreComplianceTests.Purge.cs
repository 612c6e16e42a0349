using Durably.Journal;
using Durably.Storage;
using Xunit;

namespace Durably.Testing;

// The store contract for purging finished runs.
public abstract partial class JournalStoreComplianceTests
{
#pragma warning disable CS1591
    [Fact]
    public async Task PurgeRuns_FinishedBeforeCutoff_DeletesThemAndNeverAnUnfinishedRun()
    {
        await using var store = await CreateStoreAsync();
        var completed = NewId("done");
        var failed = NewId("failed");
        var running = NewId("running");
        var suspended = NewId("suspended");
        await store.AppendAsync(Start(completed));
        await store.AppendAsync(new RunAppend(completed, 1, [new RunCompleted { Sequence = 1, Timestamp = Ms(1) }]) { Status = RunStatus.Completed });
        await store.AppendAsync(Start(failed));
        await store.AppendAsync(new RunAppend(failed, 1, [new RunFailed { Sequence = 1, Timestamp = Ms(1), Error = new ErrorInfo("E", "m") }]) { Status = RunStatus.Failed });
        await store.AppendAsync(Start(running, status: RunStatus.Running));
        await store.AppendAsync(Start(suspended));
        await store.AppendAsync(new RunAppend(suspended, 1, []) { Status = RunStatus.Suspended });
        await store.DeliverSignalAsync(suspended, new SignalMessage("kept"));
        var cutoff = (await store.GetRunAsync(failed))!.UpdatedAt.AddMilliseconds(1);

        var dry = await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Completed, RunStatus.Failed], FinishedBefore = cutoff, DryRun = true });
        Assert.Equal([completed, failed], dry.Runs.Order());
        Assert.Equal(4, dry.Entries);
        Assert.NotNull(await store.GetRunAsync(completed));

        var done = await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Completed], FinishedBefore = cutoff });
        Assert.Equal([completed], done.Runs);
        Assert.Null(await store.GetRunAsync(completed));
        await Assert.ThrowsAsync<RunNotFoundException>(() => store.ReadAsync(completed));
        Assert.NotNull(await store.GetRunAsync(failed));

        var early = await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Failed], FinishedBefore = cutoff.AddDays(-1) });
        Assert.Empty(early.Runs);
        Assert.Throws<ArgumentException>(() => new PurgeRequest { Statuses = [RunStatus.Running], FinishedBefore = cutoff }.Validate());
        await Assert.ThrowsAsync<ArgumentException>(() => store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Suspended], FinishedBefore = cutoff.AddYears(1) }));
        Assert.Equal(RunStatus.Suspended, (await store.GetRunAsync(suspended))!.Status);
        Assert.Single(await store.ReadSignalsAsync(suspended));
        Assert.NotNull(await store.GetRunAsync(running));
    }
#pragma warning restore CS1591
}
