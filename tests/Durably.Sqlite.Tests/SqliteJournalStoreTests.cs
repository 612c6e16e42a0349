using Durably.Storage;
using Durably.Testing;

namespace Durably.Sqlite.Tests;

public sealed class SqliteJournalStoreTests : DurableJournalStoreComplianceTests, IDisposable
{
    private readonly TempFolder _folder = new();

    private string StorePath => _folder.File("journal.db");

    protected override async Task<IJournalStore> CreateStoreAsync()
        => await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = StorePath, TimeProvider = Clock });

    protected override async Task<IJournalStore> ReopenStoreAsync()
        => await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = StorePath, TimeProvider = Clock, CreateIfMissing = false });

    public void Dispose() => _folder.Dispose();
}
