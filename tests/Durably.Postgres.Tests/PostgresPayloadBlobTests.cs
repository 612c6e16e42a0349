using System.Security.Cryptography;
using Durably.Codecs;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Postgres.Tests;

// Where the PostgreSQL store keeps offloaded payloads (the side table), and what a missing one reads as.
public sealed class PostgresPayloadBlobTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    [Fact]
    public async Task Append_LargePayloads_SideTableHoldsEachOnceAndRowsOnlyReferences()
    {
        await using var store = await OpenAsync();
        var payload = Payload.FromValue(new string('p', 300_000));
        for (var i = 0; i < 3; i++)
        {
            var id = new RunId($"side-{i}");
            await store.AppendAsync(Start(id));
            await store.AppendAsync(Step(id, 1, payload));
        }

        Assert.InRange(await _database.ScalarAsync<int>($"SELECT max(length(data)) FROM {_database.Schema}.entries"), 1, 512);
        Assert.Equal(1L, await _database.ScalarAsync<long>($"SELECT count(*) FROM {_database.Schema}.payload_blobs"));
        Assert.Equal(payload.Length, await _database.ScalarAsync<int>($"SELECT length(data) FROM {_database.Schema}.payload_blobs"));
        Assert.Equal(3L, await _database.ScalarAsync<long>($"SELECT count(*) FROM {_database.Schema}.blob_refs"));
        Assert.Equal(payload, ((StepCompleted)(await store.ReadAsync(new RunId("side-2")))[1]).Result);
    }

    [Fact]
    public async Task Append_EncryptedLargePayload_SideTableHoldsNoPlaintext()
    {
        await using var store = await OpenAsync();
        const string Secret = "sk-live-pg-blob-88";
        var codec = JsonPayloadCodec.Default.WithEncryption(PayloadKeyRing.Single("k1", RandomNumberGenerator.GetBytes(32)));
        var encrypted = codec.Encode(string.Concat(Enumerable.Repeat(Secret, 5000)));
        await store.AppendAsync(Start(new RunId("secret")));
        await store.AppendAsync(Step(new RunId("secret"), 1, encrypted));

        Assert.Equal(1L, await _database.ScalarAsync<long>($"SELECT count(*) FROM {_database.Schema}.payload_blobs"));
        Assert.Equal(0L, await _database.ScalarAsync<long>($"SELECT count(*) FROM {_database.Schema}.payload_blobs WHERE position(convert_to($1, 'UTF8') in data) > 0", Secret));
        Assert.Equal(encrypted, ((StepCompleted)(await store.ReadAsync(new RunId("secret")))[1]).Result);
    }

    [Fact]
    public async Task Read_MissingBlob_ThrowsJournalCorruptedNamingRunEntryAndHash()
    {
        await using var store = await OpenAsync();
        var payload = Payload.FromValue(new string('m', 10_000));
        await store.AppendAsync(Start(new RunId("gone")));
        await store.AppendAsync(Step(new RunId("gone"), 1, payload));
        await _database.ExecuteAsync($"DELETE FROM {_database.Schema}.payload_blobs");

        var ex = await Assert.ThrowsAsync<JournalCorruptedException>(() => store.ReadAsync(new RunId("gone")));
        Assert.Contains("Entry 1 of run 'gone'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(PayloadBlobs.Hash(payload.Data.Span), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Purge_RunWithBlobs_DeletesItsReferencesSoCollectionFreesTheBlob()
    {
        await using var store = await OpenAsync();
        await store.AppendAsync(Start(new RunId("done")));
        await store.AppendAsync(Step(new RunId("done"), 1, Payload.FromValue(new string('z', 10_000))));
        await store.AppendAsync(new RunAppend(new RunId("done"), 2, [new RunCompleted { Sequence = 2, Timestamp = DateTimeOffset.UnixEpoch }]) { Status = RunStatus.Completed });
        await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Completed], FinishedBefore = DateTimeOffset.UtcNow.AddDays(1) });

        Assert.Equal(0L, await _database.ScalarAsync<long>($"SELECT count(*) FROM {_database.Schema}.blob_refs"));
        var collected = await store.CollectBlobsAsync(new BlobCollectionRequest { GracePeriod = TimeSpan.Zero });
        Assert.Equal(1, collected.Deleted);
        Assert.Equal(0L, await _database.ScalarAsync<long>($"SELECT count(*) FROM {_database.Schema}.payload_blobs"));
    }

    private Task<PostgresJournalStore> OpenAsync() => PostgresJournalStore.OpenAsync(new PostgresJournalStoreOptions
    {
        ConnectionString = TestDatabase.ConnectionString,
        Schema = _database.Schema,
        SchemaMode = PostgresSchemaMode.CreateOrUpdate,
        PayloadBlobs = new PayloadBlobOptions { InlineLimit = 1024 },
    });

    private static RunAppend Start(RunId id)
        => new(id, 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "blobs", WorkflowVersion = 1 }]) { Status = RunStatus.Running };

    private static RunAppend Step(RunId id, long sequence, Payload result)
        => new(id, sequence, [new StepCompleted { Sequence = sequence, Timestamp = DateTimeOffset.UnixEpoch, Step = (int)sequence, Result = result }]);

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
