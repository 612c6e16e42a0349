using Durably.Postgres;
using Durably.Postgres.Tests;
using Durably.Storage;

namespace Durably.Agents.Workflows.Tests;

// Needs the server scripts/with-postgres.sh starts (DURABLY_POSTGRES); fails, never skips, without one.
public sealed class PostgresCheckpointStoreTests : CheckpointStoreContract
{
    private readonly TestDatabase _database = new();

    protected override async Task<IJournalStore> OpenJournalAsync() => await _database.OpenStoreAsync();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _database.DisposeAsync();
    }
}
