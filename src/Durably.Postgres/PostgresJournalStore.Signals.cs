using Durably.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Durably.Postgres;

public sealed partial class PostgresJournalStore
{
    /// <inheritdoc/>
    /// <remarks>
    /// <para>In one statement: locks the run, stores the signal, makes a suspended run due now, and sends a
    /// <c>NOTIFY</c> that reaches workers in <see cref="WaitForWakeupAsync"/> when the transaction commits.</para>
    /// <para>If the connection drops before the answer arrives, the signal may or may not be stored; delivering it
    /// again may store it twice, so a workflow should treat signals as at-least-once.</para>
    /// </remarks>
    public Task<DeliveredSignal> DeliverSignalAsync(RunId runId, SignalMessage signal, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckSignal(signal, _options.PayloadBlobs?.MaxBlobBytes ?? _options.MaxEntryBytes);
        List<OffloadedBlob>? offloaded = null;
        var stored = PayloadBlobs.Offload(signal.Payload, _options.PayloadBlobs, ref offloaded);

        return RunAsync("delivering a signal", connection => WriteSignalAsync(connection, null, runId, signal, stored, offloaded, cancellationToken), cancellationToken);
    }

    // Stores a signal in the run's inbox, makes a suspended run due now and notifies workers (at commit), in one statement: on its
    // own, or in the caller's transaction. stored: the payload as written (a blob reference when offloaded; the blob goes with it).
    private async Task<DeliveredSignal> WriteSignalAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, RunId runId, SignalMessage signal, Journal.Payload? stored, List<OffloadedBlob>? offloaded, CancellationToken cancellationToken)
    {
        // The run's row lock orders deliveries to one run, so signal ids increase in delivery order, and keeps
        // a run from finishing between the status check and the insert.
        await using var deliver = new NpgsqlCommand($"""
            WITH r AS (
                SELECT id, status FROM {_schema}.runs WHERE run_id = $1 FOR NO KEY UPDATE),
            s AS (
                INSERT INTO {_schema}.signals(run, name, encoding, payload, sender, delivered_at)
                SELECT id, $2, $3, $4, $5, now() FROM r WHERE status < 3
                RETURNING id, delivered_at),
            woken AS (
                UPDATE {_schema}.runs SET wake_at = LEAST(wake_at, now()), updated_at = now()
                WHERE id = (SELECT id FROM r) AND status = 2 AND EXISTS (SELECT 1 FROM s)
                RETURNING id),
            notified AS (
                SELECT pg_notify($6, $1) FROM s),
            blob AS (
                INSERT INTO {_schema}.payload_blobs(hash, data, used_at)
                SELECT $7, $8, now() FROM s WHERE $7::text IS NOT NULL
                ON CONFLICT (hash) DO UPDATE SET used_at = now()
                RETURNING hash),
            referenced AS (
                INSERT INTO {_schema}.blob_refs(run, hash)
                SELECT (SELECT id FROM r), hash FROM blob
                RETURNING hash)
            SELECT r.status, s.id, s.delivered_at, (SELECT count(*) FROM notified), (SELECT count(*) FROM woken), (SELECT count(*) FROM referenced)
            FROM r LEFT JOIN s ON true
            """, connection, transaction);
        deliver.Parameters.Add(new NpgsqlParameter { Value = runId.Value });
        deliver.Parameters.Add(new NpgsqlParameter { Value = signal.Name });
        deliver.Parameters.Add(new NpgsqlParameter { Value = (object?)stored?.Encoding ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        deliver.Parameters.Add(new NpgsqlParameter { Value = (object?)stored?.Data.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        deliver.Parameters.Add(new NpgsqlParameter { Value = (object?)signal.Sender ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        deliver.Parameters.Add(new NpgsqlParameter { Value = _sql.Channel });
        deliver.Parameters.Add(new NpgsqlParameter { Value = (object?)offloaded?[0].Sha256 ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        deliver.Parameters.Add(new NpgsqlParameter { Value = (object?)offloaded?[0].Data.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        await using var reader = await deliver.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new RunNotFoundException(runId);
        }

        if (reader.IsDBNull(1))
        {
            throw new RunFinishedException(runId, (RunStatus)reader.GetInt16(0));
        }

        return new DeliveredSignal(reader.GetInt64(1), signal.Name, signal.Payload, signal.Sender, reader.GetFieldValue<DateTimeOffset>(2));
    }
}
