using Durably.Storage;

namespace Durably.Sqlite;

public sealed partial class SqliteJournalStore
{
    /// <inheritdoc/>
    public Task<DeliveredSignal> DeliverSignalAsync(RunId runId, SignalMessage signal, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckSignal(signal, _options.PayloadBlobs?.MaxBlobBytes ?? _options.MaxEntryBytes);

        ThrowIfDisposed();
        List<OffloadedBlob>? offloaded = null;
        var stored = PayloadBlobs.Offload(signal.Payload, _options.PayloadBlobs, ref offloaded);
        return WithBlobsAsync(offloaded, () => Enqueue((store, now) => store.WriteSignal(runId, signal, stored, offloaded, now)), cancellationToken);
    }

    // Stores a signal in the run's inbox and makes a suspended run due now. Writer thread, in the caller's write transaction.
    // stored: the payload as written (a blob reference when offloaded, whose blob is written already).
    private DeliveredSignal WriteSignal(RunId runId, SignalMessage signal, Journal.Payload? stored, List<OffloadedBlob>? offloaded, long now)
    {
        var (runKey, status) = FindRun(_writer, runId);
        if (status.IsFinished())
        {
            throw new RunFinishedException(runId, status);
        }

        using var insert = _writer.CreateCommand();
        insert.CommandText = "INSERT INTO signals(run, name, encoding, payload, crc, sender, delivered_at) VALUES($run, $name, $encoding, $payload, $crc, $sender, $now) RETURNING id";
        insert.Parameters.AddWithValue("$run", runKey);
        insert.Parameters.AddWithValue("$name", signal.Name);
        insert.Parameters.AddWithValue("$encoding", (object?)stored?.Encoding ?? DBNull.Value);
        insert.Parameters.AddWithValue("$payload", (object?)stored?.Data.ToArray() ?? DBNull.Value);
        insert.Parameters.AddWithValue("$crc", stored is { } payload ? (object)Checksum.Compute(payload.Data.Span) : DBNull.Value);
        insert.Parameters.AddWithValue("$sender", (object?)signal.Sender ?? DBNull.Value);
        insert.Parameters.AddWithValue("$now", now);
        var id = (long)insert.ExecuteScalar()!;
        if (offloaded is not null)
        {
            InsertBlobReferences(runKey, [offloaded[0].Sha256]);
        }

        // A suspended run becomes due now; the runtime replays it and sees whether this is the signal it waits for.
        using var wake = _writer.CreateCommand();
        wake.CommandText = "UPDATE runs SET wake_at = CASE WHEN wake_at IS NULL OR wake_at > $now THEN $now ELSE wake_at END, updated_at = $now WHERE id = $run AND status = 2";
        wake.Parameters.AddWithValue("$run", runKey);
        wake.Parameters.AddWithValue("$now", now);
        wake.ExecuteNonQuery();
        return new DeliveredSignal(id, signal.Name, signal.Payload, signal.Sender, DateTimeOffset.FromUnixTimeMilliseconds(now));
    }
}
