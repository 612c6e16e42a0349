using Durably.Journal;
using Durably.Storage;
using SQLitePCL;

namespace Durably.Sqlite;

public sealed partial class SqliteJournalStore
{
    /// <inheritdoc/>
    public ValueTask AppendAsync(IReadOnlyList<RunAppend> appends, CancellationToken cancellationToken = default)
    {
        RunAppendValidator.Validate(appends);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();

        // Serialize on the caller's thread so the single writer only does I/O.
        var encoded = new EncodedEntry[appends.Count][];
        for (var i = 0; i < appends.Count; i++)
        {
            var entries = appends[i].Entries;
            var bytes = new EncodedEntry[entries.Count];
            for (var j = 0; j < entries.Count; j++)
            {
                var data = StoreLimits.Encode(entries[j], _options.MaxEntryBytes);
                bytes[j] = new EncodedEntry(data, Checksum.Compute(data));
            }

            encoded[i] = bytes;
        }

        // Cancellation is not observed once queued: the append is either committed or failed, never abandoned half-way.
        var item = new AppendItem(appends, encoded);
        _writes.Enqueue(item);
        return new ValueTask(item.Task);
    }

    // Runs on the writer thread inside its write transaction, so the checks and the writes are atomic.
    // Plain single-row statements only: RETURNING and upserts would make SQLite keep a statement journal
    // for every append, which costs more than the writes themselves.
    private void ApplyAppend(RunAppend append, EncodedEntry[] entries, long now)
    {
        var s = _statements;
        var find = s.FindRun;
        find.Parameters[0].Value = append.RunId.Value;
        long runKey;
        object previous;
        using (var run = find.ExecuteReader())
        {
            if (!run.Read())
            {
                if (append.ExpectedSequence != 0)
                {
                    throw new RunNotFoundException(append.RunId);
                }

                runKey = -1;
                previous = DBNull.Value;
            }
            else
            {
                CheckFound(append.RunId, run.GetString(4));
                runKey = run.GetInt64(0);
                var actual = run.GetInt64(1);
                var epoch = run.GetInt64(2);
                if (append.LeaseEpoch is { } held && held != epoch && append.ExpectedSequence != 0)
                {
                    throw new LeaseLostException(append.RunId, held, epoch);
                }

                // Sequence 0 for an existing run is a duplicate start: the run id deduplicates.
                if (append.ExpectedSequence == 0 || actual != append.ExpectedSequence)
                {
                    throw new JournalConcurrencyException(append.RunId, append.ExpectedSequence, actual);
                }

                previous = run.GetValue(3);
            }
        }

        var next = append.ExpectedSequence + entries.Length;
        if (runKey < 0)
        {
            var started = (RunStarted)append.Entries[0];
            var insert = s.InsertRun;
            insert.Parameters[0].Value = append.RunId.Value;
            insert.Parameters[1].Value = started.Workflow;
            insert.Parameters[2].Value = (int)(append.Status ?? RunStatus.Pending);
            insert.Parameters[3].Value = now;
            insert.Parameters[4].Value = next;
            insert.Parameters[5].Value = append.Status is null ? DBNull.Value : ToDb(append.WakeAt);
            insert.Parameters[6].Value = append.Status is null ? DBNull.Value : (object?)append.StatusDetail ?? DBNull.Value;
            insert.ExecuteNonQuery();
            runKey = raw.sqlite3_last_insert_rowid(_writer.Handle);
        }

        var insertEntry = s.InsertEntry;
        for (var i = 0; i < entries.Length; i++)
        {
            insertEntry.Parameters[0].Value = runKey;
            insertEntry.Parameters[1].Value = append.ExpectedSequence + i;
            insertEntry.Parameters[2].Value = previous;
            insertEntry.Parameters[3].Value = entries[i].Data;
            insertEntry.Parameters[4].Value = entries[i].Crc;
            insertEntry.ExecuteNonQuery();
            previous = raw.sqlite3_last_insert_rowid(_writer.Handle);
        }

        // A new run's status was set by its insert.
        var advance = append.Status is not null && append.ExpectedSequence != 0 ? s.AdvanceRunWithStatus : s.AdvanceRun;
        advance.Parameters[0].Value = runKey;
        advance.Parameters[1].Value = next;
        advance.Parameters[2].Value = now;
        advance.Parameters[3].Value = previous;
        if (advance == s.AdvanceRunWithStatus)
        {
            advance.Parameters[4].Value = (int)append.Status!.Value;
            advance.Parameters[5].Value = ToDb(append.WakeAt);
            advance.Parameters[6].Value = (object?)append.StatusDetail ?? DBNull.Value;
        }

        advance.ExecuteNonQuery();
    }

    private readonly record struct EncodedEntry(byte[] Data, long Crc);

    private static object ToDb(DateTimeOffset? value) => value is { } v ? v.ToUnixTimeMilliseconds() : DBNull.Value;

    private sealed class AppendItem(IReadOnlyList<RunAppend> appends, EncodedEntry[][] encoded) : WriteItem
    {
        // A call touching several runs must be all or nothing; a single run checks before it writes.
        public override bool NeedsSavepoint => appends.Count > 1;

        public override void Execute(SqliteJournalStore store, long now)
        {
            for (var i = 0; i < appends.Count; i++)
            {
                store.ApplyAppend(appends[i], encoded[i], now);
            }
        }
    }
}
