using System.Collections.Concurrent;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite;

// Large payloads kept outside the rows (PayloadBlobOptions): the blob is written and synced by the caller's thread before
// the append is queued, and the commit that refers to it records the reference in blob_refs. A crash before the commit
// leaves an unreferenced blob, which the collection deletes later; it never leaves a reference without its blob.
public sealed partial class SqliteJournalStore
{
    private readonly IPayloadBlobStore _blobStore;

    // Blobs written by appends of this process that have not committed or failed yet: never collected, whatever their age.
    private readonly ConcurrentDictionary<string, int> _blobsInFlight = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public PayloadBlobOptions? BlobOptions => _options.PayloadBlobs;

    /// <summary>Gets the blob store that holds this journal's offloaded payloads (the configured one, or the default folder beside the file).</summary>
    public IPayloadBlobStore BlobStore => _blobStore;

    /// <inheritdoc/>
    public async Task<PayloadBlobUsage> GetBlobUsageAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        long blobs = 0, bytes = 0;
        await foreach (var blob in _blobStore.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            blobs++;
            bytes += blob.Size;
        }

        var referenced = ReadSql(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(DISTINCT hash) FROM blob_refs";
            return (long)command.ExecuteScalar()!;
        });
        return new PayloadBlobUsage(blobs, bytes, referenced);
    }

    /// <inheritdoc/>
    /// <remarks>Mark and sweep: the blobs unused for the grace period are listed first, then the references are read, and each
    /// blob neither referenced nor written by an append of this process in flight is deleted unless it was used meanwhile
    /// (<see cref="IPayloadBlobStore.DeleteIfUnusedSinceAsync"/>). An append in another process refreshes its blob before it
    /// commits, so the grace period must be longer than an append can wait; the default is 15 minutes.</remarks>
    public async Task<BlobCollectionResult> CollectBlobsAsync(BlobCollectionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfDisposed();
        var grace = request.GracePeriod ?? _options.PayloadBlobs?.CollectionGracePeriod ?? new PayloadBlobOptions().CollectionGracePeriod;
        ArgumentOutOfRangeException.ThrowIfLessThan(grace, TimeSpan.Zero, nameof(request));
        var usedBefore = _options.TimeProvider.GetUtcNow() - grace;
        var candidates = new List<PayloadBlobInfo>();
        long examined = 0;
        await foreach (var blob in _blobStore.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            examined++;
            if (blob.LastUsed < usedBefore)
            {
                candidates.Add(blob);
            }
        }

        if (candidates.Count == 0)
        {
            return new BlobCollectionResult(examined, 0, 0, request.DryRun);
        }

        // The blobs in flight are taken before the references are read: an append in flight now has committed its reference by
        // the time it leaves the registry, so a blob that is in neither set was unreferenced and unwritten at one instant. Taken
        // after, an append that commits between the two reads would be in neither (seen as a deleted blob an entry refers to).
        var inFlight = new HashSet<string>(_blobsInFlight.Keys, StringComparer.Ordinal);
        var referenced = ReadSql(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT DISTINCT hash FROM blob_refs";
            var set = new HashSet<string>(StringComparer.Ordinal);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                set.Add(reader.GetString(0));
            }

            return set;
        });

        long deleted = 0, freed = 0;
        foreach (var blob in candidates)
        {
            if (referenced.Contains(blob.Sha256) || inFlight.Contains(blob.Sha256) || _blobsInFlight.ContainsKey(blob.Sha256))
            {
                continue;
            }

            if (request.DryRun)
            {
                deleted++;
                freed += blob.Size;
                continue;
            }

            var size = await _blobStore.DeleteIfUnusedSinceAsync(blob.Sha256, usedBefore, cancellationToken).ConfigureAwait(false);
            if (size > 0)
            {
                deleted++;
                freed += size;
            }
        }

        if (!request.DryRun && _blobStore is FileSystemPayloadBlobStore files)
        {
            files.DeleteLeftovers(usedBefore);
        }

        return new BlobCollectionResult(examined, deleted, freed, request.DryRun);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// <para>Collects unreferenced blobs, then (with <see cref="CompactionRequest.Full"/>) runs <c>VACUUM</c>, which rewrites the
    /// file without its free pages, and <c>PRAGMA wal_checkpoint(TRUNCATE)</c>, which copies the WAL into the file and empties
    /// it. Both run on a connection of their own and hold the write lock while they run: appends of this and other processes
    /// wait (up to <see cref="SqliteJournalStoreOptions.BusyTimeout"/>), so compact a large file when the host is quiet.
    /// Without <see cref="CompactionRequest.Full"/> only the checkpoint runs; freed pages are reused by later writes either way.</para>
    /// <para>The sizes reported are the file's, the WAL's and the blob folder's together (the folder only for the default blob store).</para>
    /// </remarks>
    public async Task<CompactionResult> CompactAsync(CompactionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfDisposed();
        var before = SizeInBytes();
        var blobs = await CollectBlobsAsync(request.Blobs ?? new BlobCollectionRequest(), cancellationToken).ConfigureAwait(false);
        var notes = new List<string>();
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = Math.Max(1, (int)_options.BusyTimeout.TotalSeconds),
        }.ToString();
        try
        {
            using var connection = new SqliteConnection(connectionString);
            connection.Open();
            SqliteSchema.Execute(connection, $"PRAGMA busy_timeout={(long)_options.BusyTimeout.TotalMilliseconds}");
            if (request.Full)
            {
                SqliteSchema.Execute(connection, "VACUUM");
                notes.Add("VACUUM rewrote the file without its free pages.");
            }

            using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            using var reader = checkpoint.ExecuteReader();
            notes.Add(reader.Read() && reader.GetInt64(0) != 0
                ? "The WAL could not be emptied completely: a reader was still using it; the next checkpoint finishes it."
                : "The WAL was checkpointed into the file and truncated.");
        }
        catch (SqliteException ex)
        {
            throw Translate(ex, Path, "compacting");
        }

        return new CompactionResult(before, SizeInBytes(), blobs, notes);
    }

    /// <summary>Gets the bytes of the journal file, its WAL and (for the default blob store) its blob folder.</summary>
    public long SizeInBytes()
    {
        static long Length(string path) => new FileInfo(path) is { Exists: true } file ? file.Length : 0;
        return Length(Path) + Length(Path + "-wal") + (_blobStore is FileSystemPayloadBlobStore files ? files.SizeInBytes() : 0);
    }

    // Writer thread, inside the transaction of the entry or signal that refers to the blobs.
    private void InsertBlobReferences(long runKey, string[] hashes)
    {
        var insert = WriterCommand("INSERT INTO blob_refs(run, hash) VALUES($run, $hash)");
        var run = insert.Parameters.AddWithValue("$run", runKey);
        var hash = insert.Parameters.Add("$hash", SqliteType.Text);
        foreach (var h in hashes)
        {
            hash.Value = h;
            insert.ExecuteNonQuery();
        }
    }

    private async ValueTask AppendWithBlobsAsync(AppendItem item, List<OffloadedBlob> blobs, CancellationToken cancellationToken)
    {
        await WithBlobsAsync(blobs, async () =>
        {
            _writes.Enqueue(item);
            await item.Task.ConfigureAwait(false);
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    // Writes the blobs durably, then runs the write that refers to them; they count as in flight until it is done.
    private async Task<T> WithBlobsAsync<T>(List<OffloadedBlob>? blobs, Func<Task<T>> write, CancellationToken cancellationToken)
    {
        if (blobs is null)
        {
            return await write().ConfigureAwait(false);
        }

        foreach (var blob in blobs)
        {
            _blobsInFlight.AddOrUpdate(blob.Sha256, 1, (_, n) => n + 1);
        }

        try
        {
            foreach (var blob in blobs)
            {
                await _blobStore.WriteAsync(blob.Sha256, blob.Data, cancellationToken).ConfigureAwait(false);
            }

            return await write().ConfigureAwait(false);
        }
        finally
        {
            foreach (var blob in blobs)
            {
                if (_blobsInFlight.AddOrUpdate(blob.Sha256, 0, (_, n) => n - 1) <= 0)
                {
                    _blobsInFlight.TryRemove(new KeyValuePair<string, int>(blob.Sha256, 0));
                }
            }
        }
    }

    private async Task<IReadOnlyList<JournalEntry>> ResolveBlobsAsync(RunId runId, IReadOnlyList<JournalEntry> entries, CancellationToken cancellationToken)
        => await PayloadBlobs.ResolveAsync(entries, _blobStore.ReadAsync, runId.Value, _blobStore.Location, cancellationToken).ConfigureAwait(false);

    private async Task<IReadOnlyList<DeliveredSignal>> ResolveBlobsAsync(RunId runId, IReadOnlyList<DeliveredSignal> signals, CancellationToken cancellationToken)
    {
        if (!signals.Any(s => s.Payload?.Encoding == PayloadBlobs.ReferenceEncoding))
        {
            return signals;
        }

        var resolved = new List<DeliveredSignal>(signals.Count);
        foreach (var signal in signals)
        {
            var payload = await PayloadBlobs.ResolvePayloadAsync(signal.Payload, _blobStore.ReadAsync, $"Signal {signal.SignalId} to run '{runId}'", _blobStore.Location, cancellationToken).ConfigureAwait(false);
            resolved.Add(signal with { Payload = payload });
        }

        return resolved;
    }
}
