using Durably.Storage;
using Durably.Testing;

namespace Durably.Sqlite.Tests;

public sealed class SqliteScheduleStoreTests : ScheduleStoreComplianceTests, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override async Task<IJournalStore> CreateStoreAsync() => await SqliteJournalStore.OpenAsync(_folder.File("journal.db"));

    public void Dispose() => _folder.Dispose();
}
