using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Durably.Codecs;
using Durably.Journal;
using Durably.Storage;
using Durably.Testing;
using Durably.TestHost;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

public sealed class SqlitePayloadBlobComplianceTests : PayloadBlobComplianceTests, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override async Task<IJournalStore> CreateStoreAsync(PayloadBlobOptions blobs)
        => await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = _folder.File("blobs.db"), TimeProvider = Clock, PayloadBlobs = blobs });

    public void Dispose() => _folder.Dispose();
}

// What only the SQLite store shows: where the bytes are (rows, files), what a crash leaves, and what damage reads as.
public sealed class SqlitePayloadBlobTests(ITestOutputHelper output) : IDisposable
{
    private static readonly PayloadBlobOptions Blobs = new() { InlineLimit = 1024 };
    private readonly TempFolder _folder = new();

    [Fact]
    public async Task Append_LargePayload_RowHoldsOnlyAReferenceAndTheBlobFileHoldsTheBytes()
    {
        var path = _folder.File("rows.db");
        var payload = Payload.FromValue(new string('x', 200_000));
        await using (var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, PayloadBlobs = Blobs }))
        {
            await store.AppendAsync(Start("rows"));
            await store.AppendAsync(Step("rows", 1, payload));
        }

        Assert.InRange(Scalar(path, "SELECT max(length(data)) FROM entries"), 1, 512);
        var file = new FileSystemPayloadBlobStore(FileSystemPayloadBlobStore.DefaultFolderFor(path)).PathOf(PayloadBlobs.Hash(payload.Data.Span));
        Assert.Equal(payload.Data.ToArray(), await File.ReadAllBytesAsync(file));

        // Opened without offloading configured, the journal still reads whole (from the default folder).
        await using var reopened = await SqliteJournalStore.OpenAsync(path);
        Assert.Equal(payload, ((StepCompleted)(await reopened.ReadAsync(new RunId("rows")))[1]).Result);
    }

    [Fact]
    public async Task Runtime_EncryptedLargeResult_BlobFileHoldsNoPlaintextAndResultRoundTrips()
    {
        var path = _folder.File("encrypted.db");
        const string Secret = "sk-live-blob-4d9e1f";
        var text = string.Concat(Enumerable.Repeat(Secret + " ", 20_000));
        var codec = JsonPayloadCodec.Default.WithEncryption(PayloadKeyRing.Single("k1", RandomNumberGenerator.GetBytes(32)));
        await using (var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, PayloadBlobs = Blobs }))
        {
            await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { Codec = codec });
            runtime.Register<int, int>("big", async (ctx, _) => (await ctx.StepAsync("generate", _ => Task.FromResult(text))).Length);
            await runtime.StartAsync();
            var run = await runtime.Client.StartAsync("big", 1, new StartRunOptions { RunId = new RunId("encrypted") });
            Assert.Equal(text.Length, await run.GetResultAsync<int>(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token));
            var entries = await store.ReadAsync(run.RunId);
            var result = entries.OfType<StepCompleted>().Single().Result!;
            Assert.StartsWith(EncryptingPayloadCodec.EncodingPrefix, result.Encoding, StringComparison.Ordinal);
            Assert.Equal(text, codec.Decode<string>(result));
        }

        var blobFiles = Directory.GetFiles(FileSystemPayloadBlobStore.DefaultFolderFor(path), "*", SearchOption.AllDirectories);
        Assert.NotEmpty(blobFiles);
        Assert.All(blobFiles, f => Assert.DoesNotContain(Secret, Encoding.UTF8.GetString(File.ReadAllBytes(f)), StringComparison.Ordinal));
        Assert.All(new[] { path, path + "-wal" }.Where(File.Exists), f => Assert.DoesNotContain(Secret, Encoding.UTF8.GetString(File.ReadAllBytes(f)), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("changed")]
    [InlineData("truncated")]
    public async Task Read_DamagedOrMissingBlob_ThrowsJournalCorruptedNamingRunEntryAndHash(string damage)
    {
        var path = _folder.File("damaged.db");
        var payload = Payload.FromValue(new string('d', 50_000));
        var hash = PayloadBlobs.Hash(payload.Data.Span);
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, PayloadBlobs = Blobs });
        await store.AppendAsync(Start("damaged"));
        await store.AppendAsync(Step("damaged", 1, payload));
        await store.DeliverSignalAsync(new RunId("damaged"), new SignalMessage("go", payload));
        var file = ((FileSystemPayloadBlobStore)store.BlobStore).PathOf(hash);
        switch (damage)
        {
            case "missing":
                File.Delete(file);
                break;
            case "changed":
                var bytes = await File.ReadAllBytesAsync(file);
                bytes[bytes.Length / 2] ^= 0x20;
                await File.WriteAllBytesAsync(file, bytes);
                break;
            default:
                await File.WriteAllBytesAsync(file, (await File.ReadAllBytesAsync(file))[..1000]);
                break;
        }

        var ex = await Assert.ThrowsAsync<JournalCorruptedException>(() => store.ReadAsync(new RunId("damaged")));
        Assert.Contains("Entry 1 of run 'damaged'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(hash, ex.Message, StringComparison.Ordinal);
        var signal = await Assert.ThrowsAsync<JournalCorruptedException>(() => store.ReadSignalsAsync(new RunId("damaged")));
        Assert.Contains("run 'damaged'", signal.Message, StringComparison.Ordinal);
        Assert.Contains(hash, signal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_AfterChildKilledDuringLargeAppends_EveryAcknowledgedPayloadReadsWhole()
    {
        var path = _folder.File("crash.db");
        const int Runs = 6;
        var killAfter = Random.Shared.Next(30, 200);
        output.WriteLine($"kill after {killAfter} acks");
        var acked = new long[Runs];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using (var child = ChildProcess.Start("blob-append-loop", path, Runs.ToString(CultureInfo.InvariantCulture)))
        {
            var stderr = child.StandardError.ReadToEndAsync(timeout.Token);
            var count = 0;
            var killed = false;
            while (await child.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                var parts = line.Split(' ');
                Assert.True(parts is ["ack", _, _], $"unexpected line '{line}'");
                var (run, seq) = (int.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
                acked[run] = Math.Max(acked[run], seq);
                if (++count == killAfter)
                {
                    child.Kill();
                    killed = true;
                }
            }

            await child.WaitForExitAsync(timeout.Token);
            Assert.True(killed, $"the child exited by itself: {await stderr}");
        }

        await using var store = await SqliteJournalStore.OpenAsync(BlobAppendLoop.Options(path));
        for (var run = 0; run < Runs; run++)
        {
            var id = new RunId($"blob-{run}");
            if (acked[run] == 0 && await store.GetRunAsync(id) is null)
            {
                continue;
            }

            // Every entry in the journal (acknowledged or committed just before the kill) has its blob: none dangles.
            var entries = await store.ReadAsync(id);
            Assert.True(entries.Count - 1 >= acked[run], $"run {run}: {acked[run]} acknowledged, {entries.Count - 1} steps in the journal");
            foreach (var step in entries.OfType<StepCompleted>())
            {
                Assert.Equal(BlobAppendLoop.PayloadFor(run, step.Sequence), step.Result);
            }
        }

        Assert.InRange(Scalar(path, "SELECT max(length(data)) FROM entries"), 1, 1024);
    }

    [Fact]
    public async Task Compact_AfterPurgeOfLargeRuns_ShrinksTheFileAndTheBlobFolder()
    {
        var path = _folder.File("compact.db");
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, TimeProvider = clock, PayloadBlobs = new PayloadBlobOptions { InlineLimit = 64 * 1024 } });
        for (var i = 0; i < 200; i++)
        {
            var id = $"run-{i}";
            await store.AppendAsync(Start(id));
            // Under the inline limit (in the rows) and over it (a blob).
            await store.AppendAsync(Step(id, 1, Payload.FromValue(new string((char)('a' + i % 26), 20_000) + i)));
            await store.AppendAsync(new RunAppend(new RunId(id), 2, [new StepCompleted { Sequence = 2, Timestamp = DateTimeOffset.UnixEpoch, Step = 2, Result = Payload.FromValue(i + new string('b', 100_000)) }]));
            await store.AppendAsync(new RunAppend(new RunId(id), 3, [new RunCompleted { Sequence = 3, Timestamp = DateTimeOffset.UnixEpoch }]) { Status = RunStatus.Completed });
        }

        await store.AppendAsync(Start("unfinished"));
        clock.Advance(TimeSpan.FromDays(2));
        var purged = await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Completed], FinishedBefore = clock.GetUtcNow() - TimeSpan.FromDays(1) });
        Assert.Equal(200, purged.Runs.Count);
        var result = await store.CompactAsync(new CompactionRequest());
        output.WriteLine($"{result.BytesBefore} -> {result.BytesAfter} bytes; {result.Blobs.Deleted} blobs deleted; {string.Join(" ", result.Notes)}");

        Assert.Equal(200, result.Blobs.Deleted);
        Assert.True(result.BytesAfter * 4 < result.BytesBefore, $"{result.BytesBefore} -> {result.BytesAfter}");
        Assert.Equal(0, new FileInfo(path + "-wal") is { Exists: true } wal ? wal.Length : 0);
        Assert.Single(await store.ReadAsync(new RunId("unfinished")));
    }

    private static RunAppend Start(string id)
        => new(new RunId(id), 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "blobs", WorkflowVersion = 1 }]) { Status = RunStatus.Running };

    private static RunAppend Step(string id, long sequence, Payload result)
        => new(new RunId(id), sequence, [new StepCompleted { Sequence = sequence, Timestamp = DateTimeOffset.UnixEpoch, Step = (int)sequence, Result = result }]);

    private static long Scalar(string path, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public void Dispose() => _folder.Dispose();
}
