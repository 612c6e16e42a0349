using Durably.Storage;
using Durably.Testing;

namespace Durably.Tests;

public sealed class InMemoryScheduleStoreTests : ScheduleStoreComplianceTests
{
    protected override Task<IJournalStore> CreateStoreAsync() => Task.FromResult<IJournalStore>(new InMemoryJournalStore());
}
