using Durably.Storage;
using Durably.Testing;

namespace Durably.Sqlite.Tests;

public sealed class SqliteRunQueueStoreTests : RunQueueStoreComplianceTests, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override async Task<IJournalStore> CreateStoreAsync()
        => await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = _folder.File("queues.db"), TimeProvider = Clock });

    public void Dispose() => _folder.Dispose();
}
