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
        string[]?[]? references = null;
        long[]? tokens = null;
        List<OffloadedBlob>? offloaded = null;
        for (var i = 0; i < appends.Count; i++)
        {
            var entries = appends[i].Entries;
            var bytes = new EncodedEntry[entries.Count];
            var before = offloaded?.Count ?? 0;
            for (var j = 0; j < entries.Count; j++)
            {
                var data = PayloadBlobs.Encode(entries[j], _options.MaxEntryBytes, _options.PayloadBlobs, ref offloaded);
                bytes[j] = new EncodedEntry(data, Checksum.Compute(data));
                if (QueueAdmission.TokensUsed(entries[j]) is > 0 and var used)
                {
                    (tokens ??= new long[appends.Count])[i] += used;
                }
            }

            encoded[i] = bytes;
            if (offloaded is not null && offloaded.Count > before)
            {
                (references ??= new string[]?[appends.Count])[i] = [.. offloaded.Skip(before).Select(b => b.Sha256).Distinct()];
            }
        }

        // Cancellation is not observed once queued: the append is either committed or failed, never abandoned half-way.
        var item = new AppendItem(appends, encoded, references, tokens);
        if (offloaded is not null)
        {
            return AppendWithBlobsAsync(item, offloaded, cancellationToken);
        }

        _writes.Enqueue(item);
        return new ValueTask(item.Task);
    }

    // Runs on the writer thread inside its write transaction, so the checks and the writes are atomic.
    // Plain single-row statements only: RETURNING and upserts would make SQLite keep a statement journal
    // for every append, which costs more than the writes themselves.
    // tokens: the model tokens the append's entries record as used (QueueAdmission.TokensUsed), counted by a token-limited queue.
    private void ApplyAppend(RunAppend append, EncodedEntry[] entries, string[]? blobs, long tokens, long now)
    {
        var s = _statements;
        var find = s.FindRun;
        find.BindText(1, append.RunId.Value);
        long runKey;
        long? previous;
        try
        {
            if (!find.Step())
            {
                if (append.ExpectedSequence != 0)
                {
                    throw new RunNotFoundException(append.RunId);
                }

                runKey = -1;
                previous = null;
            }
            else
            {
                CheckFound(append.RunId, find.GetBytes(4));
                runKey = find.GetInt64(0);
                var actual = find.GetInt64(1);
                var epoch = find.GetInt64(2);
                if (append.LeaseEpoch is { } held && held != epoch && append.ExpectedSequence != 0)
                {
                    throw new LeaseLostException(append.RunId, held, epoch);
                }

                // Sequence 0 for an existing run is a duplicate start: the run id deduplicates.
                if (append.ExpectedSequence == 0 || actual != append.ExpectedSequence)
                {
                    throw new JournalConcurrencyException(append.RunId, append.ExpectedSequence, actual);
                }

                previous = find.GetNullableInt64(3);
            }
        }
        finally
        {
            find.Reset();
        }

        var next = append.ExpectedSequence + entries.Length;
        if (runKey < 0)
        {
            var started = (RunStarted)append.Entries[0];
            var insert = s.InsertRun;
            insert.BindText(1, append.RunId.Value);
            insert.BindText(2, started.Workflow);
            insert.Bind(3, (int)(append.Status ?? RunStatus.Pending));
            insert.Bind(4, now);
            insert.Bind(5, next);
            insert.Bind(6, append.Status is null ? null : ToUnixMilliseconds(append.WakeAt));
            insert.BindText(7, append.Status is null ? null : append.StatusDetail);
            insert.Execute();
            runKey = raw.sqlite3_last_insert_rowid(_writer.Handle);
        }

        var insertEntry = s.InsertEntry;
        for (var i = 0; i < entries.Length; i++)
        {
            insertEntry.Bind(1, runKey);
            insertEntry.Bind(2, append.ExpectedSequence + i);
            insertEntry.Bind(3, previous);
            insertEntry.BindBlob(4, entries[i].Data);
            insertEntry.Bind(5, entries[i].Crc);
            insertEntry.Execute();
            previous = raw.sqlite3_last_insert_rowid(_writer.Handle);
        }

        if (blobs is not null)
        {
            InsertBlobReferences(runKey, blobs);
        }

        if (tokens > 0)
        {
            RecordQueueTokens(runKey, tokens, now);
        }

        // A new run's status was set by its insert.
        if (append.Status is { } status && append.ExpectedSequence != 0)
        {
            var advance = s.AdvanceRunWithStatus;
            advance.Bind(1, runKey);
            advance.Bind(2, next);
            advance.Bind(3, now);
            advance.Bind(4, previous);
            advance.Bind(5, (int)status);
            advance.Bind(6, ToUnixMilliseconds(append.WakeAt));
            advance.BindText(7, append.StatusDetail);
            advance.Execute();
        }
        else
        {
            var advance = s.AdvanceRun;
            advance.Bind(1, runKey);
            advance.Bind(2, next);
            advance.Bind(3, now);
            advance.Bind(4, previous);
            advance.Execute();
        }
    }

    private readonly record struct EncodedEntry(byte[] Data, long Crc);

    private static long? ToUnixMilliseconds(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();

    private sealed class AppendItem(IReadOnlyList<RunAppend> appends, EncodedEntry[][] encoded, string[]?[]? blobs, long[]? tokens) : WriteItem
    {
        // A call touching several runs must be all or nothing; a single run checks before it writes.
        public override bool NeedsSavepoint => appends.Count > 1;

        public override void Execute(SqliteJournalStore store, long now)
        {
            for (var i = 0; i < appends.Count; i++)
            {
                store.ApplyAppend(appends[i], encoded[i], blobs?[i], tokens?[i] ?? 0, now);
            }
        }
    }
}
