using Durably.Storage;
using Durably.Testing;

namespace Durably.Tests;

public sealed class InMemoryJournalStoreHealthTests : JournalStoreHealthComplianceTests
{
    protected override Task<IJournalStore> CreateStoreAsync() => Task.FromResult<IJournalStore>(new InMemoryJournalStore());
}
