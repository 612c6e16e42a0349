using Durably.Storage;
using Durably.Testing;

namespace Durably.Postgres.Tests;

public sealed class PostgresJournalStoreHealthTests : JournalStoreHealthComplianceTests, IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    protected override async Task<IJournalStore> CreateStoreAsync() => await _database.OpenStoreAsync(PostgresSchemaMode.CreateOrUpdate);

    [Fact]
    public async Task CheckHealthAsync_SchemaDropped_ThrowsJournalStoreException()
    {
        await using var store = await _database.OpenStoreAsync(PostgresSchemaMode.CreateOrUpdate);
        await store.CheckHealthAsync();

        await _database.ExecuteAsync($"DROP SCHEMA {_database.Schema} CASCADE");

        var error = await Assert.ThrowsAnyAsync<JournalStoreException>(() => store.CheckHealthAsync());
        Assert.Contains("runs", error.Message, StringComparison.Ordinal);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
