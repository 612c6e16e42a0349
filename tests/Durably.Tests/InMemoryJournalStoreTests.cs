using Durably.Storage;
using Durably.Testing;

namespace Durably.Tests;

public sealed class InMemoryJournalStoreTests : JournalStoreComplianceTests
{
    protected override Task<IJournalStore> CreateStoreAsync() => Task.FromResult<IJournalStore>(new InMemoryJournalStore(Clock));
}

public sealed class InMemoryRunQueueStoreTests : RunQueueStoreComplianceTests
{
    protected override Task<IJournalStore> CreateStoreAsync() => Task.FromResult<IJournalStore>(new InMemoryJournalStore(Clock));
}
