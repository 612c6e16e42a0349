using Durably.Journal;
using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite.Tests;

// Claims read the indexes runs_ready and runs_leased, added after schema version 1: a file made before them gets them
// when it is opened, and claims on it find the same runs.
public sealed class ClaimIndexTests : IDisposable
{
    private readonly TempFolder _folder = new();

    private string StorePath => _folder.File("journal.db");

    [Fact]
    public async Task OpenAsync_FileWithoutTheClaimIndexes_AddsThemAndClaimsPendingAndDueRunsOnly()
    {
        await using (var store = await SqliteJournalStore.OpenAsync(StorePath))
        {
            await store.AppendAsync(new RunAppend(new RunId("pending"), 0, [Started()]));
            await store.AppendAsync(new RunAppend(new RunId("due"), 0, [Started()]) { Status = RunStatus.Suspended, WakeAt = DateTimeOffset.UtcNow.AddMinutes(-1) });
            await store.AppendAsync(new RunAppend(new RunId("later"), 0, [Started()]) { Status = RunStatus.Suspended, WakeAt = DateTimeOffset.UtcNow.AddDays(1) });
            await store.AppendAsync(new RunAppend(new RunId("done"), 0, [Started()]) { Status = RunStatus.Completed });
        }

        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = StorePath, Pooling = false }.ToString()))
        {
            connection.Open();
            using var drop = connection.CreateCommand();
            drop.CommandText = "DROP INDEX runs_ready; DROP INDEX runs_leased;";
            drop.ExecuteNonQuery();
            Assert.Equal(0L, CountIndexes(connection));
        }

        await using (var store = await SqliteJournalStore.OpenAsync(StorePath))
        {
            var leases = await store.ClaimRunsAsync(new ClaimRequest { Owner = "worker", LeaseDuration = TimeSpan.FromMinutes(1), MaxRuns = 10 });
            Assert.Equal(["due", "pending"], leases.Select(l => l.RunId.Value).Order(StringComparer.Ordinal));
        }

        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = StorePath, Pooling = false }.ToString()))
        {
            connection.Open();
            Assert.Equal(2L, CountIndexes(connection));
        }
    }

    public void Dispose() => _folder.Dispose();

    private static long CountIndexes(SqliteConnection connection)
    {
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('runs_ready', 'runs_leased')";
        return (long)count.ExecuteScalar()!;
    }

    private static RunStarted Started() => new() { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "claims" };
}
