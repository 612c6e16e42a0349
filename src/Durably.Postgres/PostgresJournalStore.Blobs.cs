using Durably.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Durably.Postgres;

// Large payloads kept outside the entry rows (PayloadBlobOptions), in the side table payload_blobs, written by the batch
// transaction of the append that refers to them, with one blob_refs row per run and blob. The upsert locks an existing
// blob's row for the rest of that transaction; the collection skips locked rows and runs at REPEATABLE READ, so a blob
// referred to by a commit it has not seen makes it fail instead of deleting the blob (it tries again later).
public sealed partial class PostgresJournalStore : IJournalStoreBlobs, IJournalStoreCompaction
{
    private static readonly string[] Tables = ["runs", "entries", "signals", "payload_blobs", "blob_refs"];

    /// <inheritdoc/>
    public PayloadBlobOptions? BlobOptions => _options.PayloadBlobs;

    private string BlobLocation => $"the payload_blobs table of {_location}";

    /// <inheritdoc/>
    public Task<PayloadBlobUsage> GetBlobUsageAsync(CancellationToken cancellationToken = default)
    {
        return RunAsync("reading blob usage", async connection =>
        {
            await using var command = new NpgsqlCommand($"SELECT count(*), coalesce(sum(length(data)), 0)::bigint, (SELECT count(DISTINCT hash) FROM {_schema}.blob_refs) FROM {_schema}.payload_blobs", connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new PayloadBlobUsage(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }, cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>Deletes, in one REPEATABLE READ transaction, the blobs unused for the grace period that no reference names,
    /// skipping blobs an append in flight has locked. When an append that refers to a candidate commits meanwhile, the
    /// transaction fails with a serialization error and is tried again (up to three times); what could not be deleted then
    /// is left for the next collection.</remarks>
    public async Task<BlobCollectionResult> CollectBlobsAsync(BlobCollectionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var grace = request.GracePeriod ?? _options.PayloadBlobs?.CollectionGracePeriod ?? new PayloadBlobOptions().CollectionGracePeriod;
        ArgumentOutOfRangeException.ThrowIfLessThan(grace, TimeSpan.Zero, nameof(request));
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RunAsync("collecting payload blobs", async connection =>
                {
                    await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
                    await using var count = new NpgsqlCommand($"SELECT count(*) FROM {_schema}.payload_blobs", connection, transaction);
                    var examined = (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                    var unused = $"""
                        SELECT b.hash FROM {_schema}.payload_blobs b
                        WHERE b.used_at < now() - $1 AND NOT EXISTS (SELECT 1 FROM {_schema}.blob_refs r WHERE r.hash = b.hash)
                        FOR UPDATE SKIP LOCKED
                        """;
                    await using var collect = new NpgsqlCommand(
                        request.DryRun
                            ? $"SELECT count(*), coalesce(sum(length(data)), 0)::bigint FROM {_schema}.payload_blobs WHERE hash IN ({unused})"
                            : $"WITH d AS (DELETE FROM {_schema}.payload_blobs WHERE hash IN ({unused}) RETURNING length(data) AS size) SELECT count(*), coalesce(sum(size), 0)::bigint FROM d",
                        connection,
                        transaction);
                    collect.Parameters.Add(new NpgsqlParameter { Value = grace, NpgsqlDbType = NpgsqlDbType.Interval });
                    await using var reader = await collect.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    var (deleted, freed) = (reader.GetInt64(0), reader.GetInt64(1));
                    await reader.DisposeAsync().ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return new BlobCollectionResult(examined, deleted, freed, request.DryRun);
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (JournalStoreException ex) when (attempt < 3 && ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.SerializationFailure })
            {
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>Collects unreferenced blobs, then runs <c>VACUUM</c> on the store's tables (<c>VACUUM FULL</c> with
    /// <see cref="CompactionRequest.Full"/>, which locks each table while it rewrites it). PostgreSQL skips, with a warning,
    /// tables the user does not own; the sizes before and after are the tables' total sizes with their indexes and TOAST.</remarks>
    public async Task<CompactionResult> CompactAsync(CompactionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var before = await SizeInBytesAsync(cancellationToken).ConfigureAwait(false);
        var blobs = await CollectBlobsAsync(request.Blobs ?? new BlobCollectionRequest(), cancellationToken).ConfigureAwait(false);
        var notes = await RunAsync("vacuuming", async connection =>
        {
            var warnings = new List<string>();
            connection.Notice += (_, e) => warnings.Add(e.Notice.MessageText);
            await using var vacuum = new NpgsqlCommand($"VACUUM {(request.Full ? "FULL " : "")}{string.Join(", ", Tables.Select(t => _schema + "." + t))}", connection);
            vacuum.CommandTimeout = 0;
            await vacuum.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return warnings.Count == 0
                ? new List<string> { request.Full ? "VACUUM FULL rewrote the store's tables." : "VACUUM made the space of deleted rows reusable." }
                : [.. warnings.Select(w => "VACUUM: " + w)];
        }, cancellationToken).ConfigureAwait(false);
        return new CompactionResult(before, await SizeInBytesAsync(cancellationToken).ConfigureAwait(false), blobs, notes);
    }

    /// <summary>Gets the total size of the store's tables, with their indexes and TOAST, in bytes.</summary>
    public Task<long> SizeInBytesAsync(CancellationToken cancellationToken = default)
    {
        return RunAsync("reading the store's size", async connection =>
        {
            await using var command = new NpgsqlCommand("SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint FROM unnest($1::text[]) AS t", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = Tables.Select(t => _schema + "." + t).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }, cancellationToken);
    }

    private async ValueTask<byte[]?> ReadBlobAsync(NpgsqlConnection connection, string hash, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT data FROM {_schema}.payload_blobs WHERE hash = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = hash });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
    }

    // In the batch transaction, after the appends: the blobs (in hash order, so that two batches lock them in the same
    // order), then the references of the entries that were written.
    // Stores blobs ($1 hashes, $2 bytes: BlobParameters) or marks them used again; RETURNING hash lists them.
    private string UpsertBlobsSql => $"""
        INSERT INTO {_schema}.payload_blobs(hash, data, used_at)
        SELECT hash, data, now() FROM unnest($1::text[], $2::bytea[]) AS x(hash, data)
        ON CONFLICT (hash) DO UPDATE SET used_at = now()
        """;

    // The parameters of UpsertBlobsSql: each blob once, in hash order, so that concurrent upserts lock rows in the same order.
    private static NpgsqlParameter[] BlobParameters(IEnumerable<OffloadedBlob> offloaded)
    {
        var blobs = offloaded.GroupBy(b => b.Sha256, StringComparer.Ordinal).Select(g => g.First()).OrderBy(b => b.Sha256, StringComparer.Ordinal).ToList();
        return [Array(blobs.Select(b => b.Sha256).ToArray(), NpgsqlDbType.Text), Array(blobs.Select(b => b.Data.ToArray()).ToArray(), NpgsqlDbType.Bytea)];
    }

    private void AddBlobCommands(NpgsqlBatch batch, IReadOnlyList<AppendItem> items)
    {
        batch.BatchCommands.Add(Command(UpsertBlobsSql, BlobParameters(items.Where(i => i.Blobs is not null).SelectMany(i => i.Blobs!))));
        var references = items.Where(i => i.BlobReferences is not null).SelectMany(i => i.BlobReferences!).Distinct().ToList();
        batch.BatchCommands.Add(Command(
            $"""
            INSERT INTO {_schema}.blob_refs(run, hash)
            SELECT r.id, x.hash FROM unnest($1::text[], $2::bigint[], $3::text[]) AS x(run_id, seq, hash)
            JOIN {_schema}.runs r ON r.run_id = x.run_id
            JOIN {_schema}.entries e ON e.run = r.id AND e.seq = x.seq
            """,
            Array(references.Select(r => r.Run.Value).ToArray(), NpgsqlDbType.Text),
            Array(references.Select(r => r.Sequence).ToArray(), NpgsqlDbType.Bigint),
            Array(references.Select(r => r.Hash).ToArray(), NpgsqlDbType.Text)));
    }
}
