using Durably.Journal;
using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite;

public sealed partial class SqliteJournalStore
{
    private const string RunColumns = "id, run_id, workflow, status, created_at, updated_at, next_seq, wake_at, status_detail, lease_owner, lease_epoch, lease_expires_at, queue, queue_key";

    // A run is found by its id through the run-id index, and SQLite does not check the row the index leads to
    // against the id: a damaged index entry would hand out another run's row, and with it that run's journal, whose
    // entries are intact, so their checksums cannot tell. Selecting run_id would not help, as SQLite reads it from the
    // index itself; this subquery reads the id stored in the row, which every lookup by id compares (CheckFound).
    private const string StoredRunId = "(SELECT stored.run_id FROM runs stored WHERE stored.id = runs.id)";

    /// <inheritdoc/>
    public Task<IReadOnlyList<JournalEntry>> ReadAsync(RunId runId, long fromSequence = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromSequence);
        ThrowIfDisposed();
        return ResolveBlobsAsync(runId, Read(runId, fromSequence, cancellationToken), cancellationToken);
    }

    /// <inheritdoc/>
    public Task<RunRecord?> GetRunAsync(RunId runId, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return Task.FromResult(ReadSql(connection =>
        {
            var find = _readers.Statement(connection, $"SELECT {RunColumns}, {StoredRunId} FROM runs WHERE run_id = ?1");
            find.BindText(1, runId.Value);
            try
            {
                if (!find.Step())
                {
                    return null;
                }

                CheckFound(runId, find.GetBytes(14));
                return ToRecord(find);
            }
            finally
            {
                find.Reset();
            }
        }));
    }

    /// <inheritdoc/>
    public Task<RunPage> ListRunsAsync(RunQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var pageSize = StoreLimits.CheckPageSize(query.PageSize);
        var after = StoreLimits.ParseToken(query.ContinuationToken);
        ThrowIfDisposed();
        return Task.FromResult(ReadSql(connection =>
        {
            // Numbered parameters: ?1 the position after, ?2 the workflow, ?3 the limit (only those used are bound).
            var where = new List<string>();
            if (after is not null)
            {
                where.Add(query.NewestFirst ? "id < ?1" : "id > ?1");
            }

            if (query.Statuses is { } statuses)
            {
                // Status values are integers of the enum, so they are written into the SQL rather than bound.
                where.Add($"status IN ({(statuses.Count == 0 ? "-1" : string.Join(',', statuses.Select(s => (int)s)))})");
            }

            if (query.Workflow is not null)
            {
                where.Add("workflow = ?2");
            }

            using var list = new NativeStatement(connection, $"SELECT {RunColumns} FROM runs {(where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where))} ORDER BY id {(query.NewestFirst ? "DESC" : "ASC")} LIMIT ?3");
            if (after is { } position)
            {
                list.Bind(1, position);
            }

            if (query.Workflow is { } workflow)
            {
                list.BindText(2, workflow);
            }

            list.Bind(3, pageSize + 1);
            var rows = new List<(RunRecord, long)>();
            while (list.Step())
            {
                rows.Add((ToRecord(list), list.GetInt64(0)));
            }

            return StoreLimits.ToPage(rows, pageSize);
        }));
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<DeliveredSignal>> ReadSignalsAsync(RunId runId, long afterSignalId = 0, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return ResolveBlobsAsync(runId, ReadSql<IReadOnlyList<DeliveredSignal>>(connection =>
        {
            var (runKey, _) = FindRun(connection, runId);
            var command = _readers.Statement(connection, "SELECT id, name, encoding, payload, sender, delivered_at, crc FROM signals WHERE run = ?1 AND id > ?2 ORDER BY id");
            command.Bind(1, runKey);
            command.Bind(2, afterSignalId);
            var signals = new List<DeliveredSignal>();
            try
            {
                while (command.Step())
                {
                    Payload? payload = null;
                    if (!command.IsNull(3))
                    {
                        var bytes = command.GetBytes(3).ToArray();
                        if (!command.IsInteger(6) || command.GetInt64(6) != Checksum.Compute(bytes))
                        {
                            throw new JournalCorruptedException($"The payload of signal {command.GetInt64(0)} to run '{runId}' in the journal file '{Path}' does not match its checksum: its bytes were changed after it was delivered. The file is damaged; restore it from a backup.") { StoreLocation = Path };
                        }

                        payload = Payload.FromStored(command.GetString(2), bytes);
                    }

                    signals.Add(new DeliveredSignal(
                        command.GetInt64(0),
                        command.GetString(1),
                        payload,
                        command.IsNull(4) ? null : command.GetString(4),
                        DateTimeOffset.FromUnixTimeMilliseconds(command.GetInt64(5))));
                }
            }
            finally
            {
                command.Reset();
            }

            return signals;
        }), cancellationToken);
    }

    private IReadOnlyList<JournalEntry> Read(RunId runId, long fromSequence, CancellationToken cancellationToken)
    {
        return ReadSql<IReadOnlyList<JournalEntry>>(connection =>
        {
            long runKey, nextSequence;
            object link;
            var find = _readers.Statement(connection, $"SELECT id, next_seq, last_entry, {StoredRunId} FROM runs WHERE run_id = ?1");
            find.BindText(1, runId.Value);
            try
            {
                if (!find.Step())
                {
                    throw new RunNotFoundException(runId);
                }

                (runKey, nextSequence, link) = (find.GetInt64(0), find.GetInt64(1), find.IsNull(2) ? DBNull.Value : find.GetInt64(2));
                CheckFound(runId, find.GetBytes(3));
            }
            finally
            {
                find.Reset();
            }

            // Follow the links from the last entry back to fromSequence; every step must be this run's previous entry.
            // One prepared statement stepped once per entry, through SQLitePCL: a replay reads thousands of entries.
            var entries = new List<JournalEntry>((int)Math.Clamp(nextSequence - fromSequence, 0, 1024));
            var lookup = _readers.Statement(connection, "SELECT run, seq, prev, data, crc FROM entries WHERE id = ?1");
            for (var seq = nextSequence - 1; seq >= fromSequence; seq--)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (link is not long key)
                {
                    throw Missing(seq);
                }

                lookup.Bind(1, key);
                try
                {
                    if (!lookup.Step() || !lookup.IsInteger(0) || lookup.GetInt64(0) != runKey || !lookup.IsInteger(1) || lookup.GetInt64(1) != seq)
                    {
                        throw Missing(seq);
                    }

                    entries.Add(DecodeEntry(Path, runId.Value, seq, lookup, 3));
                    link = lookup.IsNull(2) ? DBNull.Value : lookup.GetInt64(2);
                }
                finally
                {
                    lookup.Reset();
                }
            }

            if (fromSequence == 0 && link is not DBNull)
            {
                throw new JournalCorruptedException($"The first entry of run '{runId}' in '{Path}' links to an earlier one; the journal is damaged. Restore the file from a backup.") { StoreLocation = Path };
            }

            entries.Reverse();
            return entries;

            JournalCorruptedException Missing(long seq)
                => new($"Entry {seq} of run '{runId}' in the journal file '{Path}' is missing (its run record says the journal has {nextSequence} entries). The file is damaged; restore it from a backup.") { StoreLocation = Path };
        });
    }

    // Checks one stored entry (columns: data, crc) against its checksum, then decodes it.
    internal static JournalEntry DecodeEntry(string path, string runId, long seq, NativeStatement row, int column)
    {
        if (!row.IsBlob(column))
        {
            throw StoredEntries.Damaged(runId, seq, path, $"is stored as {row.TypeName(column)}, not as bytes");
        }

        var data = row.GetBytes(column);
        if (!row.IsInteger(column + 1) || row.GetInt64(column + 1) != Checksum.Compute(data))
        {
            throw StoredEntries.Damaged(runId, seq, path, "does not match its checksum: its bytes were changed after it was written");
        }

        return StoredEntries.Decode(data, runId, seq, path);
    }

    // Every read runs in one read transaction, so its statements see one snapshot while the writer commits.
    private T ReadSql<T>(Func<SqliteConnection, T> read)
    {
        var connection = _readers.Rent();
        var reusable = true;
        var begun = false;
        try
        {
            // BEGIN and ROLLBACK as the connection's kept statements (an ADO.NET transaction parses both each time).
            _readers.Statement(connection, "BEGIN").Execute();
            begun = true;
            return read(connection);
        }
        catch (SqliteException ex)
        {
            // A connection SQLite failed on is closed rather than reused: one open is a small price for a known state.
            reusable = false;
            throw Translate(ex, Path, "reading");
        }
        catch (Exception ex) when (IsWrongValue(ex))
        {
            throw WrongValue(Path, ex);
        }
        finally
        {
            if (begun)
            {
                try
                {
                    _readers.Statement(connection, "ROLLBACK").Execute();
                }
                catch (SqliteException)
                {
                    // SQLite may have ended the transaction itself after an error; the connection is not reused.
                    reusable = false;
                }
            }

            // The pool checks that the connection is out of any transaction.
            if (reusable)
            {
                _readers.Return(connection);
            }
            else
            {
                _readers.Discard(connection);
            }
        }
    }

    // SQLite does not enforce column types or NOT NULL on what it reads back, so damaged bytes can turn a value into
    // NULL or into another type; the data reader then throws one of these when the value is read.
    internal static bool IsWrongValue(Exception ex) => ex is InvalidCastException or InvalidOperationException and not ObjectDisposedException;

    internal static JournalCorruptedException WrongValue(string path, Exception ex)
        => new($"The journal file '{path}' holds a value of the wrong type, or no value where one must be ({ex.Message}); it is damaged. Restore it from a backup.", ex) { StoreLocation = path };

    // Finds a run by id on a reader connection or (inside the write transaction) on the writer connection.
    private (long RunKey, RunStatus Status) FindRun(SqliteConnection connection, RunId runId)
        => TryFindRun(connection, runId) ?? throw new RunNotFoundException(runId);

    private (long RunKey, RunStatus Status)? TryFindRun(SqliteConnection connection, RunId runId)
    {
        if (connection != _writer)
        {
            // A read: the reader connection's kept statement.
            var lookup = _readers.Statement(connection, $"SELECT id, status, {StoredRunId} FROM runs WHERE run_id = ?1");
            lookup.BindText(1, runId.Value);
            try
            {
                if (!lookup.Step())
                {
                    return null;
                }

                CheckFound(runId, lookup.GetBytes(2));
                return (lookup.GetInt64(0), (RunStatus)lookup.GetInt64(1));
            }
            finally
            {
                lookup.Reset();
            }
        }

        var find = WriterCommand($"SELECT id, status, {StoredRunId} FROM runs WHERE run_id = $run_id");
        find.Parameters.AddWithValue("$run_id", runId.Value);
        using var reader = find.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        CheckFound(runId, reader.GetString(2));
        return (reader.GetInt64(0), (RunStatus)reader.GetInt32(1));
    }

    // Checks the id stored in the row a lookup by run id found (selected as StoredRunId) against the id looked up.
    // The same check on the stored id's UTF-8 bytes, without making a string of them.
    private void CheckFound(RunId runId, ReadOnlySpan<byte> found)
    {
        var value = runId.Value;
        Span<byte> expected = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(value.Length)];
        if (!found.SequenceEqual(expected[..System.Text.Encoding.UTF8.GetBytes(value, expected)]))
        {
            CheckFound(runId, System.Text.Encoding.UTF8.GetString(found));
        }
    }

    private void CheckFound(RunId runId, string found)
    {
        if (!string.Equals(runId.Value, found, StringComparison.Ordinal))
        {
            throw new JournalCorruptedException($"The journal file '{Path}' is damaged: its index of run ids leads from run '{runId}' to the record of run '{found}'. Restore the file from a backup; 'durably journal verify' lists what else is affected.") { StoreLocation = Path };
        }
    }

    // A run's record from a row of the columns of RunColumns.
    private static RunRecord ToRecord(NativeStatement row) => new()
    {
        RunId = RunId.TryParse(row.GetString(1), out var id) ? id : throw new InvalidCastException($"'{row.GetString(1)}' is not a valid run id"),
        Workflow = row.GetString(2),
        Status = ToStatus(row.GetInt64(3)),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(4)),
        UpdatedAt = DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(5)),
        NextSequence = row.GetInt64(6),
        WakeAt = row.GetNullableInt64(7) is { } wake ? DateTimeOffset.FromUnixTimeMilliseconds(wake) : null,
        StatusDetail = row.IsNull(8) ? null : row.GetString(8),
        LeaseOwner = row.IsNull(9) ? null : row.GetString(9),
        LeaseEpoch = row.GetInt64(10),
        LeaseExpiresAt = row.GetNullableInt64(11) is { } expires ? DateTimeOffset.FromUnixTimeMilliseconds(expires) : null,
        Queue = row.IsNull(12) ? null : row.GetString(12),
        QueueKey = row.IsNull(13) ? null : row.GetString(13),
    };

    private static RunStatus ToStatus(long value)
        => value is >= 0 and <= int.MaxValue ? (RunStatus)(int)value : throw new InvalidCastException($"{value} is not a run status");
}
