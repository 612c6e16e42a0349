using Durably.Storage;
using Durably.Testing;

namespace Durably.Sqlite.Tests;

public sealed class SqliteScheduleStoreTests : ScheduleStoreComplianceTests, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override async Task<IJournalStore> CreateStoreAsync() => await SqliteJournalStore.OpenAsync(_folder.File("journal.db"));

    public void Dispose() => _folder.Dispose();
}

public sealed class SqliteScheduleSchemaTests : IDisposable
{
    private readonly TempFolder _folder = new();

    [Fact]
    public async Task Open_FileMadeBeforeSchedules_AddsTheTableAndKeepsItsRuns()
    {
        var path = _folder.File("old.db");
        await using (var store = await SqliteJournalStore.OpenAsync(path))
        {
            await new DurableClient(store).StartAsync("w", 1, new StartRunOptions { RunId = new RunId("kept") });
        }

        // A file as the version before schedules made it: no schedules table, no index of it.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var drop = connection.CreateCommand();
            drop.CommandText = "DROP TABLE schedules";
            drop.ExecuteNonQuery();
        }

        await using (var reopened = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false }))
        {
            Assert.NotNull(await reopened.GetRunAsync(new RunId("kept")));
            Assert.Empty(await reopened.ListSchedulesAsync(new ScheduleQuery()));
            await new DurableClient(reopened).Schedules.SaveAsync(Scheduling.ScheduleDefinition.ForCron("daily", "w", "0 2 * * *"));
        }

        await using var again = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });
        Assert.Equal("0 2 * * *", (await again.GetScheduleAsync("daily"))!.Cron);
    }

    public void Dispose() => _folder.Dispose();
}
