using System.Text;
using Durably.Journal;
using Durably.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Durably.Postgres;

public sealed partial class PostgresJournalStore
{
    /// <inheritdoc/>
    public Task<IReadOnlyList<JournalEntry>> ReadAsync(RunId runId, long fromSequence = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromSequence);
        return RunAsync<IReadOnlyList<JournalEntry>>("reading a journal", async connection =>
        {
            // One row with a NULL sequence when the run exists but has no entries from there on; none when it does not exist.
            await using var command = new NpgsqlCommand($"SELECT e.seq, e.data FROM {_schema}.runs r LEFT JOIN {_schema}.entries e ON e.run = r.id AND e.seq >= $2 WHERE r.run_id = $1 ORDER BY e.seq", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = runId.Value });
            command.Parameters.Add(new NpgsqlParameter { Value = fromSequence });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var entries = new List<JournalEntry>();
            var exists = false;
            var expected = fromSequence;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                exists = true;
                if (reader.IsDBNull(0))
                {
                    continue;
                }

                var seq = reader.GetInt64(0);
                if (seq != expected)
                {
                    throw new JournalCorruptedException($"The journal of run '{runId}' in {_location} skips from sequence {expected - 1} to {seq}; entries are missing.") { StoreLocation = _location };
                }

                entries.Add(StoredEntries.Decode(reader.GetFieldValue<byte[]>(1), runId.Value, seq, _location));
                expected++;
            }

            if (!exists)
            {
                throw new RunNotFoundException(runId);
            }

            await reader.DisposeAsync().ConfigureAwait(false);
            return await PayloadBlobs.ResolveAsync(entries, (hash, ct) => ReadBlobAsync(connection, hash, ct), runId.Value, BlobLocation, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<RunRecord?> GetRunAsync(RunId runId, CancellationToken cancellationToken = default)
    {
        return RunAsync("reading a run", async connection =>
        {
            await using var command = new NpgsqlCommand($"SELECT {_sql.RunColumns} FROM {_schema}.runs WHERE run_id = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = runId.Value });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ToRecord(reader) : null;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<RunPage> ListRunsAsync(RunQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var pageSize = StoreLimits.CheckPageSize(query.PageSize);
        var after = StoreLimits.ParseToken(query.ContinuationToken);
        return RunAsync("listing runs", async connection =>
        {
            await using var command = new NpgsqlCommand { Connection = connection };
            var sql = new StringBuilder($"SELECT {_sql.RunColumns} FROM {_schema}.runs WHERE true");
            if (after is { } position)
            {
                sql.Append(query.NewestFirst ? " AND id < @after" : " AND id > @after");
                command.Parameters.AddWithValue("after", position);
            }

            if (query.Statuses is { } statuses)
            {
                sql.Append(" AND status = ANY(@statuses)");
                command.Parameters.Add(new NpgsqlParameter("statuses", NpgsqlDbType.Array | NpgsqlDbType.Smallint) { Value = statuses.Select(s => (short)s).ToArray() });
            }

            if (query.Workflow is { } workflow)
            {
                sql.Append(" AND workflow = @workflow");
                command.Parameters.AddWithValue("workflow", workflow);
            }

            sql.Append(query.NewestFirst ? " ORDER BY id DESC" : " ORDER BY id").Append(" LIMIT @limit");
            command.Parameters.AddWithValue("limit", pageSize + 1);
            command.CommandText = sql.ToString();
            var rows = new List<(RunRecord, long)>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add((ToRecord(reader), reader.GetInt64(0)));
            }

            return StoreLimits.ToPage(rows, pageSize);
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<DeliveredSignal>> ReadSignalsAsync(RunId runId, long afterSignalId = 0, CancellationToken cancellationToken = default)
    {
        return RunAsync<IReadOnlyList<DeliveredSignal>>("reading signals", async connection =>
        {
            await using var command = new NpgsqlCommand($"""
                SELECT s.id, s.name, s.encoding, s.payload, s.sender, s.delivered_at
                FROM {_schema}.runs r LEFT JOIN {_schema}.signals s ON s.run = r.id AND s.id > $2
                WHERE r.run_id = $1 ORDER BY s.id
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = runId.Value });
            command.Parameters.Add(new NpgsqlParameter { Value = afterSignalId });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var signals = new List<DeliveredSignal>();
            var exists = false;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                exists = true;
                if (reader.IsDBNull(0))
                {
                    continue;
                }

                Payload? payload = reader.IsDBNull(3) ? null : Payload.FromStored(reader.GetString(2), reader.GetFieldValue<byte[]>(3));
                signals.Add(new DeliveredSignal(
                    reader.GetInt64(0),
                    reader.GetString(1),
                    payload,
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.GetFieldValue<DateTimeOffset>(5)));
            }

            if (!exists)
            {
                throw new RunNotFoundException(runId);
            }

            await reader.DisposeAsync().ConfigureAwait(false);
            for (var i = 0; i < signals.Count; i++)
            {
                if (signals[i].Payload?.Encoding == PayloadBlobs.ReferenceEncoding)
                {
                    signals[i] = signals[i] with { Payload = await PayloadBlobs.ResolvePayloadAsync(signals[i].Payload, (hash, ct) => ReadBlobAsync(connection, hash, ct), $"Signal {signals[i].SignalId} to run '{runId}'", BlobLocation, cancellationToken).ConfigureAwait(false) };
                }
            }

            return signals;
        }, cancellationToken);
    }

    private RunRecord ToRecord(NpgsqlDataReader reader)
    {
        var id = reader.GetString(1);
        return new RunRecord
        {
            RunId = RunId.TryParse(id, out var runId) ? runId : throw new JournalCorruptedException($"The runs table in {_location} holds '{id}', which is not a valid run id.") { StoreLocation = _location },
            Workflow = reader.GetString(2),
            Status = (RunStatus)reader.GetInt16(3),
            CreatedAt = reader.GetFieldValue<DateTimeOffset>(4),
            UpdatedAt = reader.GetFieldValue<DateTimeOffset>(5),
            NextSequence = reader.GetInt64(6),
            WakeAt = reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
            StatusDetail = reader.IsDBNull(8) ? null : reader.GetString(8),
            LeaseOwner = reader.IsDBNull(9) ? null : reader.GetString(9),
            LeaseEpoch = reader.GetInt64(10),
            LeaseExpiresAt = reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11),
            Queue = reader.IsDBNull(12) ? null : reader.GetString(12),
            QueueKey = reader.IsDBNull(13) ? null : reader.GetString(13),
        };
    }
}
