using Durably.Storage;
using Durably.Testing;

namespace Durably.Tests;

public sealed class InMemoryJournalStoreTests : JournalStoreComplianceTests
{
    protected override Task<IJournalStore> CreateStoreAsync() => Task.FromResult<IJournalStore>(new InMemoryJournalStore(Clock));
}

public sealed class InMemoryPayloadBlobTests : PayloadBlobComplianceTests
{
    protected override Task<IJournalStore> CreateStoreAsync(PayloadBlobOptions blobs) => Task.FromResult<IJournalStore>(new InMemoryJournalStore(Clock) { PayloadBlobs = blobs });
}

public sealed class InMemoryRunQueueStoreTests : RunQueueStoreComplianceTests
{
    protected override Task<IJournalStore> CreateStoreAsync() => Task.FromResult<IJournalStore>(new InMemoryJournalStore(Clock));
}
