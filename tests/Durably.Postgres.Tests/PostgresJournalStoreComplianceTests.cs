using Durably.Storage;
using Durably.Testing;

namespace Durably.Postgres.Tests;

public sealed class PostgresJournalStoreComplianceTests : DurableJournalStoreComplianceTests, IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    protected override async Task<IJournalStore> CreateStoreAsync() => await _database.OpenStoreAsync(PostgresSchemaMode.CreateOrUpdate);

    // Reopening checks the schema the first store created, as a production worker does.
    protected override async Task<IJournalStore> ReopenStoreAsync() => await _database.OpenStoreAsync(PostgresSchemaMode.Validate);

    // The store measures time with the database clock, which a test cannot move. Moving every stored deadline back
    // by the same amount is the same to the store, which only compares deadlines with now(). Lease expiry by the
    // real database clock is tested in PostgresLeaseTests.
    protected override Task AdvanceClockAsync(TimeSpan by)
        => _database.ExecuteAsync($"UPDATE {_database.Schema}.runs SET wake_at = wake_at - $1, lease_expires_at = lease_expires_at - $1", by);

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}

public sealed class PostgresPayloadBlobComplianceTests : PayloadBlobComplianceTests, IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    protected override async Task<IJournalStore> CreateStoreAsync(PayloadBlobOptions blobs)
        => await PostgresJournalStore.OpenAsync(new PostgresJournalStoreOptions { ConnectionString = TestDatabase.ConnectionString, Schema = _database.Schema, SchemaMode = PostgresSchemaMode.CreateOrUpdate, PayloadBlobs = blobs });

    // Blob times are the database's: nothing to move (a grace period of zero already covers every blob written before).
    protected override Task AdvanceClockAsync(TimeSpan by) => Task.CompletedTask;

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
