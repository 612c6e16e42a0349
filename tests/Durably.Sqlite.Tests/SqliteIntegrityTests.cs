using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite.Tests;

// What a tool such as `durably journal verify` needs to tell apart: a missing file, a locked file and a damaged file.
public sealed class SqliteIntegrityTests : IDisposable
{
    private readonly TempFolder _folder = new();

    private string StorePath => _folder.File("journal.db");

    [Fact]
    public async Task OpenAsync_MissingFileWithoutCreate_ThrowsNotFound()
    {
        var error = await Assert.ThrowsAsync<JournalStoreNotFoundException>(() => SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = StorePath, CreateIfMissing = false }));

        Assert.Equal(StorePath, error.StoreLocation);
        Assert.False(File.Exists(StorePath));
    }

    [Fact]
    public async Task OpenAsync_FileHeldExclusivelyByAnotherConnection_ThrowsLocked()
    {
        await WriteRunsAsync(1);
        using var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = StorePath, Pooling = false }.ToString());
        holder.Open();
        Execute(holder, "PRAGMA locking_mode=EXCLUSIVE");
        Execute(holder, "BEGIN EXCLUSIVE");
        Execute(holder, "INSERT INTO signals(run, name, delivered_at) VALUES(1, 'held', 0)");

        var error = await Assert.ThrowsAsync<JournalStoreLockedException>(() => SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = StorePath, BusyTimeout = TimeSpan.FromSeconds(1) }));

        Assert.Contains("locked", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAsync_SoundFile_ReportsNoStoreProblem()
    {
        await WriteRunsAsync(20);
        await using var store = await SqliteJournalStore.OpenAsync(StorePath);

        var report = await JournalVerifier.VerifyAsync(store);

        Assert.True(report.IsSound, string.Join("; ", report.StoreProblems.Concat(report.Problems.Select(p => p.Message))));
        Assert.Equal(20, report.Runs);
    }

    [Fact]
    public async Task VerifyAsync_PageOverwrittenOnDisk_ReportsStoreProblem()
    {
        await WriteRunsAsync(40);
        var length = new FileInfo(StorePath).Length;
        const int PageSize = 4096;
        using (var file = new FileStream(StorePath, FileMode.Open, FileAccess.Write))
        {
            // The last page belongs to a table or an index; garbage there is what a torn or bit-rotted write leaves.
            file.Position = length - PageSize;
            file.Write(Enumerable.Repeat((byte)0x5A, PageSize).ToArray());
        }

        // Opening probes the newest pages cheaply and may already see it; otherwise verification must.
        VerifyReport? report = null;
        var error = await Record.ExceptionAsync(async () =>
        {
            await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = StorePath, CreateIfMissing = false });
            report = await JournalVerifier.VerifyAsync(store);
        });

        Assert.True(error is JournalCorruptedException || report is { IsSound: false, StoreProblems.Count: > 0 }, $"damage went unnoticed: {error}");
        if (error is not null)
        {
            Assert.Contains(StorePath, error.Message, StringComparison.Ordinal);
        }
    }

    public void Dispose() => _folder.Dispose();

    private async Task WriteRunsAsync(int runs)
    {
        await using var store = await SqliteJournalStore.OpenAsync(StorePath);
        for (var r = 0; r < runs; r++)
        {
            var runId = new RunId($"run-{r}");
            await store.AppendAsync(new RunAppend(runId, 0,
            [
                new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UtcNow, Workflow = "w" },
                new StepStarted { Sequence = 1, Timestamp = DateTimeOffset.UtcNow, Step = 1, Kind = StepKind.Compute, Name = "a" },
                new StepCompleted { Sequence = 2, Timestamp = DateTimeOffset.UtcNow, Step = 1, Result = Payload.FromValue(new string('x', 3000)) },
            ]));
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
