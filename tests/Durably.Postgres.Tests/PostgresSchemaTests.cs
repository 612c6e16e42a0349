using Durably.Journal;
using Durably.Storage;

namespace Durably.Postgres.Tests;

public sealed class PostgresSchemaTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    [Fact]
    public async Task Open_ValidateOnEmptyDatabase_FailsSayingHowToCreateTheSchema()
    {
        var ex = await Assert.ThrowsAsync<JournalStoreNotFoundException>(() => _database.OpenStoreAsync(PostgresSchemaMode.Validate));

        Assert.Contains($"schema '{_database.Schema}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("holds no Durably tables", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CreateOrUpdate", ex.Message, StringComparison.Ordinal);
        Assert.Contains("GetSchemaScript", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await _database.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = $1", _database.Schema));
    }

    [Fact]
    public async Task Open_ManyWorkersCreateOrUpdateAtOnce_AllSucceedOnOneSchema()
    {
        // Without the advisory lock, concurrent CREATE SCHEMA / CREATE TABLE IF NOT EXISTS fail with unique violations.
        var stores = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => _database.OpenStoreAsync(PostgresSchemaMode.CreateOrUpdate))));
        try
        {
            var id = TestDatabase.NewId();
            await stores[0].AppendAsync(TestDatabase.Start(id));
            Assert.Equal(1, (await stores[7].GetRunAsync(id))!.NextSequence);
            Assert.Equal(1, await _database.ScalarAsync<int>($"SELECT count(*)::int FROM {_database.Schema}.schema_info"));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }

        await using var validated = await _database.OpenStoreAsync(PostgresSchemaMode.Validate);
    }

    [Fact]
    public async Task Open_ValidateOnScriptAppliedByHand_Succeeds()
    {
        await _database.ExecuteAsync(PostgresJournalStore.GetSchemaScript(_database.Schema));

        await using var store = await _database.OpenStoreAsync(PostgresSchemaMode.Validate);

        var id = TestDatabase.NewId();
        await store.AppendAsync(TestDatabase.Start(id));
        Assert.Single(await store.ReadAsync(id));
    }

    [Fact]
    public async Task Open_SchemaDiffersFromExpected_ListsTheDifferencesInBothModes()
    {
        await (await _database.OpenStoreAsync()).DisposeAsync();
        await _database.ExecuteAsync($"ALTER TABLE {_database.Schema}.runs DROP COLUMN lease_epoch; ALTER TABLE {_database.Schema}.entries ALTER COLUMN data TYPE text; DROP INDEX {_database.Schema}.signals_run");

        var validate = await Assert.ThrowsAsync<JournalStoreException>(() => _database.OpenStoreAsync(PostgresSchemaMode.Validate));
        var create = await Assert.ThrowsAsync<JournalStoreException>(() => _database.OpenStoreAsync(PostgresSchemaMode.CreateOrUpdate));

        foreach (var message in new[] { validate.Message, create.Message })
        {
            Assert.Contains("column runs.lease_epoch is missing", message, StringComparison.Ordinal);
            Assert.Contains("column entries.data is text NOT NULL, expected bytea NOT NULL", message, StringComparison.Ordinal);
        }

        // CreateOrUpdate can recreate a missing index, but not repair changed columns: it fails and changes nothing.
        Assert.Contains("index signals_run is missing", validate.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("index signals_run", create.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await _database.ScalarAsync<long>("SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'signals_run'", _database.Schema));
    }

    [Fact]
    public async Task Open_SchemaFromNewerVersion_ThrowsFormatException()
    {
        await (await _database.OpenStoreAsync()).DisposeAsync();
        await _database.ExecuteAsync($"UPDATE {_database.Schema}.schema_info SET version = 99");

        var ex = await Assert.ThrowsAsync<JournalFormatException>(() => _database.OpenStoreAsync(PostgresSchemaMode.Validate));
        Assert.Equal(99, ex.FormatVersion);
        await Assert.ThrowsAsync<JournalFormatException>(() => _database.OpenStoreAsync(PostgresSchemaMode.CreateOrUpdate));
    }

    [Fact]
    public async Task Open_BadSchemaName_ThrowsArgumentBeforeConnecting()
    {
        var options = new PostgresJournalStoreOptions { ConnectionString = "Host=nowhere.invalid", Schema = "Robert'); DROP TABLE students;--", SchemaMode = PostgresSchemaMode.CreateOrUpdate };

        await Assert.ThrowsAsync<ArgumentException>(() => PostgresJournalStore.OpenAsync(options));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
