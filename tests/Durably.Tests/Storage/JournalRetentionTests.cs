using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Durably.Tests.Storage;

// Retention by logical time: a fake clock decides what is old, so the tests never wait.
public sealed class JournalRetentionTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly string _archive = Path.Combine(Path.GetTempPath(), "durably-tests", "archive-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task RunAsync_KeepTimesPerStatus_PurgesOnlyFinishedRunsOlderThanTheirKeepTime()
    {
        var store = new InMemoryJournalStore(_clock);
        await FinishAsync(store, "old-completed", RunStatus.Completed);
        await FinishAsync(store, "old-failed", RunStatus.Failed);
        await FinishAsync(store, "old-cancelled", RunStatus.Cancelled);
        await store.AppendAsync([Start("old-running")]);
        _clock.Advance(TimeSpan.FromDays(8));
        await FinishAsync(store, "new-completed", RunStatus.Completed);

        var result = await JournalRetention.RunAsync(store, new RetentionPolicy { KeepCompleted = TimeSpan.FromDays(7), KeepFailed = TimeSpan.FromDays(30), KeepCancelled = TimeSpan.FromDays(1) }, _clock);

        Assert.Equal(["old-completed", "old-cancelled"], result.Purged.Select(r => r.Value).Order().Reverse());
        Assert.Null(result.ArchiveFile);
        foreach (var kept in new[] { "old-failed", "old-running", "new-completed" })
        {
            Assert.NotNull(await store.GetRunAsync(new RunId(kept)));
        }

        _clock.Advance(TimeSpan.FromDays(30));
        var later = await JournalRetention.RunAsync(store, new RetentionPolicy { KeepCompleted = TimeSpan.FromDays(7), KeepFailed = TimeSpan.FromDays(30), KeepCancelled = null }, _clock);
        Assert.Equal(["new-completed", "old-failed"], later.Purged.Select(r => r.Value).Order());
        Assert.NotNull(await store.GetRunAsync(new RunId("old-running")));
    }

    [Fact]
    public async Task RunAsync_WithArchive_WritesEveryPurgedRunInTheExportFormatBeforeDeletingIt()
    {
        var store = new InMemoryJournalStore(_clock);
        var ids = Enumerable.Range(0, 25).Select(i => $"archived-{i}").ToList();
        foreach (var id in ids)
        {
            await FinishAsync(store, id, RunStatus.Completed);
        }

        await store.AppendAsync([Start("still-running")]);
        _clock.Advance(TimeSpan.FromDays(2));

        // A batch smaller than the runs to purge: several store calls, one archive file.
        var result = await JournalRetention.RunAsync(store, new RetentionPolicy { KeepCompleted = TimeSpan.FromDays(1), ArchiveDirectory = _archive, BatchSize = 10 }, _clock);

        Assert.Equal(25, result.Purged.Count);
        Assert.NotNull(result.ArchiveFile);
        Assert.Single(Directory.GetFiles(_archive));
        await using var input = File.OpenRead(result.ArchiveFile!);
        var journals = await JournalExport.ReadAsync(input);
        Assert.Equal(ids.Order(), journals.Select(j => j.RunId.Value).Order());
        Assert.All(journals, j => Assert.Equal([0L, 1L, 2L], j.Entries.Select(e => e.Sequence)));
        Assert.Equal(Payload.FromJson("\"result of archived-3\""), ((StepCompleted)journals.Single(j => j.RunId.Value == "archived-3").Entries[1]).Result);
        Assert.All(ids, id => Assert.Null(store.GetRunAsync(new RunId(id)).Result));
        Assert.NotNull(await store.GetRunAsync(new RunId("still-running")));
    }

    [Fact]
    public async Task RunAsync_WithBlobs_CollectsTheBlobsOfPurgedRunsAndKeepsTheOthers()
    {
        var store = new InMemoryJournalStore(_clock) { PayloadBlobs = new PayloadBlobOptions { InlineLimit = 1024, CollectionGracePeriod = TimeSpan.FromMinutes(5) } };
        var big = Payload.FromValue(new string('g', 10_000));
        await FinishAsync(store, "purged", RunStatus.Completed, big);
        _clock.Advance(TimeSpan.FromDays(2));
        await FinishAsync(store, "kept", RunStatus.Completed, Payload.FromValue(new string('k', 10_000)));

        var result = await JournalRetention.RunAsync(store, new RetentionPolicy { KeepCompleted = TimeSpan.FromDays(1) }, _clock);

        Assert.Equal(["purged"], result.Purged.Select(r => r.Value));
        Assert.Equal(1, result.Blobs!.Deleted);
        Assert.Equal(new string('k', 10_000), ((StepCompleted)(await store.ReadAsync(new RunId("kept")))[1]).Result!.ToValue<string>());
    }

    [Fact]
    public void Validate_NonPositiveKeepTime_ThrowsNamingTheSetting()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RetentionPolicy { KeepFailed = TimeSpan.Zero }.Validate());
        Assert.Equal("KeepFailed", ex.ParamName);
    }

    private static RunAppend Start(string id)
        => new(new RunId(id), 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "retained", WorkflowVersion = 1 }]) { Status = RunStatus.Running };

    private static async Task FinishAsync(InMemoryJournalStore store, string id, RunStatus status, Payload? result = null)
    {
        JournalEntry end = status switch
        {
            RunStatus.Completed => new RunCompleted { Sequence = 2, Timestamp = DateTimeOffset.UnixEpoch },
            RunStatus.Failed => new RunFailed { Sequence = 2, Timestamp = DateTimeOffset.UnixEpoch, Error = new ErrorInfo("Boom", "boom") },
            _ => new RunCancelled { Sequence = 2, Timestamp = DateTimeOffset.UnixEpoch },
        };
        await store.AppendAsync([Start(id)]);
        await store.AppendAsync([new RunAppend(new RunId(id), 1, [new StepCompleted { Sequence = 1, Timestamp = DateTimeOffset.UnixEpoch, Step = 1, Result = result ?? Payload.FromValue($"result of {id}") }])]);
        await store.AppendAsync([new RunAppend(new RunId(id), 2, [end]) { Status = status }]);
    }

    public void Dispose()
    {
        if (Directory.Exists(_archive))
        {
            Directory.Delete(_archive, recursive: true);
        }
    }
}
