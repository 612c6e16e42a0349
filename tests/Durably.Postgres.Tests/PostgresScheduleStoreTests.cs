using Durably.Storage;
using Durably.Testing;

namespace Durably.Postgres.Tests;

public sealed class PostgresScheduleStoreTests : ScheduleStoreComplianceTests, IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    protected override async Task<IJournalStore> CreateStoreAsync() => await _database.OpenStoreAsync(PostgresSchemaMode.CreateOrUpdate);

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
