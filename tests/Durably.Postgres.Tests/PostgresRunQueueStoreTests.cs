using Durably.Storage;
using Durably.Testing;

namespace Durably.Postgres.Tests;

public sealed class PostgresRunQueueStoreTests : RunQueueStoreComplianceTests, IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    protected override async Task<IJournalStore> CreateStoreAsync() => await _database.OpenStoreAsync(PostgresSchemaMode.CreateOrUpdate);

    // The store measures time with the database clock, which a test cannot move: every stored time moves back instead.
    protected override async Task AdvanceClockAsync(TimeSpan by)
    {
        await _database.ExecuteAsync($"UPDATE {_database.Schema}.runs SET wake_at = wake_at - $1, lease_expires_at = lease_expires_at - $1, first_dequeued_at = first_dequeued_at - $1, created_at = created_at - $1", by);
        await _database.ExecuteAsync($"UPDATE {_database.Schema}.queue_tokens SET at = at - $1", by);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
