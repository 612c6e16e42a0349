using Durably.Sqlite;
using Durably.Storage;
using Durably.Testing;

namespace Durably.Sqlite.Tests;

public sealed class SqliteJournalStoreHealthTests : JournalStoreHealthComplianceTests, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override async Task<IJournalStore> CreateStoreAsync()
        => await SqliteJournalStore.OpenAsync(_folder.File("journal.db"));

    [Fact]
    public async Task CheckHealthAsync_FolderRemovedWhileOpen_ThrowsNotFoundNamingTheFile()
    {
        var folder = _folder.File("gone");
        Directory.CreateDirectory(folder);
        await using var store = await SqliteJournalStore.OpenAsync(Path.Combine(folder, "journal.db"));
        await store.CheckHealthAsync();

        Directory.Delete(folder, recursive: true);

        var error = await Assert.ThrowsAsync<JournalStoreNotFoundException>(() => store.CheckHealthAsync());
        Assert.Contains(store.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains("is gone", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckHealthAsync_AfterAFailedSync_ThrowsTheStoreFailure()
    {
        var failSync = 0;
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions
        {
            Path = _folder.File("failing.db"),
            FaultInjector = point =>
            {
                if (point == SqliteFaultPoint.Sync && Interlocked.Exchange(ref failSync, 0) == 1)
                {
                    throw new IOException("injected: fsync failed");
                }
            },
        });
        var runId = new RunId("health-sync");
        await store.AppendAsync(new RunAppend(runId, 0, [new Journal.RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "w", WorkflowVersion = 1, Input = Journal.Payload.FromJson("1") }]));
        await store.CheckHealthAsync();

        Volatile.Write(ref failSync, 1);
        await Assert.ThrowsAsync<JournalStoreFailedException>(() => store.AppendAsync(new RunAppend(runId, 1, [new Journal.RunCompleted { Sequence = 1, Timestamp = DateTimeOffset.UnixEpoch, Result = Journal.Payload.FromJson("2") }])).AsTask());

        var error = await Assert.ThrowsAsync<JournalStoreFailedException>(() => store.CheckHealthAsync());
        Assert.Contains("injected: fsync failed", error.Message, StringComparison.Ordinal);
        Assert.Equal(store.Path, error.StoreLocation);
    }

    public void Dispose() => _folder.Dispose();
}
