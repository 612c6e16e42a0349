using Durably.Journal;
using Durably.Storage;

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
        return new ValueTask(Enqueue(new AppendItem(appends, encoded)));
    }

    private void ApplyAppend(RunAppend append, EncodedEntry[] entries, long now)
    {
        var s = _statements;
        long runKey;
        var next = append.ExpectedSequence + entries.Length;
        if (append.ExpectedSequence == 0)
        {
            var started = (RunStarted)append.Entries[0];
            var insert = s.InsertRun;
            insert.Parameters[0].Value = append.RunId.Value;
            insert.Parameters[1].Value = started.Workflow;
            insert.Parameters[2].Value = (int)(append.Status ?? RunStatus.Pending);
            insert.Parameters[3].Value = now;
            insert.Parameters[4].Value = next;
            insert.Parameters[5].Value = append.Status is null ? DBNull.Value : ToDb(append.WakeAt);
            insert.Parameters[6].Value = append.Status is null ? DBNull.Value : (object?)append.WaitingFor ?? DBNull.Value;
            var id = insert.ExecuteScalar();
            if (id is null)
            {
                throw Conflict(append);
            }

            runKey = (long)id;
        }
        else
        {
            var advance = s.AdvanceRun;
            advance.Parameters[0].Value = append.RunId.Value;
            advance.Parameters[1].Value = next;
            advance.Parameters[2].Value = now;
            advance.Parameters[3].Value = append.Status is { } status ? (int)status : DBNull.Value;
            advance.Parameters[4].Value = ToDb(append.WakeAt);
            advance.Parameters[5].Value = (object?)append.WaitingFor ?? DBNull.Value;
            advance.Parameters[6].Value = append.ExpectedSequence;
            advance.Parameters[7].Value = append.LeaseEpoch is { } epoch ? epoch : DBNull.Value;
            var id = advance.ExecuteScalar();
            if (id is null)
            {
                throw Conflict(append);
            }

            runKey = (long)id;
        }

        var insertEntry = s.InsertEntry;
        for (var i = 0; i < entries.Length; i++)
        {
            insertEntry.Parameters[0].Value = runKey;
            insertEntry.Parameters[1].Value = append.ExpectedSequence + i;
            insertEntry.Parameters[2].Value = entries[i].Data;
            insertEntry.Parameters[3].Value = entries[i].Crc;
            insertEntry.ExecuteNonQuery();
        }
    }

    private DurablyException Conflict(RunAppend append)
    {
        var diagnose = _statements.Diagnose;
        diagnose.Parameters[0].Value = append.RunId.Value;
        using var reader = diagnose.ExecuteReader();
        if (!reader.Read())
        {
            return new RunNotFoundException(append.RunId);
        }

        var actual = reader.GetInt64(0);
        var epoch = reader.GetInt64(1);
        if (append.LeaseEpoch is { } held && held != epoch)
        {
            return new LeaseLostException(append.RunId, held, epoch);
        }

        return new JournalConcurrencyException(append.RunId, append.ExpectedSequence, actual);
    }

    private readonly record struct EncodedEntry(byte[] Data, long Crc);

    private static object ToDb(DateTimeOffset? value) => value is { } v ? v.ToUnixTimeMilliseconds() : DBNull.Value;

    private sealed class AppendItem(IReadOnlyList<RunAppend> appends, EncodedEntry[][] encoded) : WriteItem
    {
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override Task Task => _completion.Task;

        // A call touching several runs must be all or nothing; a single run checks before it writes.
        public override bool NeedsSavepoint => appends.Count > 1;

        public override void Execute(SqliteJournalStore store, long now)
        {
            for (var i = 0; i < appends.Count; i++)
            {
                store.ApplyAppend(appends[i], encoded[i], now);
            }
        }

        public override void Complete() => _completion.TrySetResult();

        public override void Fail(Exception exception) => _completion.TrySetException(exception);
    }
}
