using Durably.Sqlite;
using Durably.Sqlite.Tests;
using Durably.Storage;

namespace Durably.Agents.Workflows.Tests;

public sealed class SqliteCheckpointStoreTests : CheckpointStoreContract
{
    private readonly TempFolder _folder = new();

    protected override async Task<IJournalStore> OpenJournalAsync() => await SqliteJournalStore.OpenAsync(_folder.File("journal.db"));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }
}
