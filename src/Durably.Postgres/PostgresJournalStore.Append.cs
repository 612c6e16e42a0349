using Durably.Journal;
using Durably.Storage;

namespace Durably.Postgres;

public sealed partial class PostgresJournalStore
{
    /// <inheritdoc/>
    /// <remarks>
    /// <para>Completes after the server acknowledged the COMMIT of the transaction holding the entries. Cancellation
    /// is observed only before the append is queued: once queued it is committed or failed, never abandoned.</para>
    /// <para>When the connection drops during COMMIT, the store reads the entries back before answering; an append
    /// whose outcome cannot be learned within <see cref="PostgresJournalStoreOptions.InDoubtResolutionTimeout"/>
    /// fails with a <see cref="JournalStoreException"/> that says so: read the run before writing again.</para>
    /// </remarks>
    public ValueTask AppendAsync(IReadOnlyList<RunAppend> appends, CancellationToken cancellationToken = default)
    {
        RunAppendValidator.Validate(appends);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();

        // Serialize on the caller's thread so the single writer only does I/O.
        var encoded = new byte[appends.Count][][];
        long bytes = 0;
        List<OffloadedBlob>? offloaded = null;
        List<(RunId Run, long Sequence, string Hash)>? references = null;
        List<(RunId Run, long Sequence, long? Epoch, long Tokens)>? tokens = null;
        for (var i = 0; i < appends.Count; i++)
        {
            var entries = appends[i].Entries;
            var data = new byte[entries.Count][];
            for (var j = 0; j < entries.Count; j++)
            {
                if (QueueAdmission.TokensUsed(entries[j]) is > 0 and var used)
                {
                    (tokens ??= []).Add((appends[i].RunId, appends[i].ExpectedSequence + j, appends[i].LeaseEpoch, used));
                }

                var before = offloaded?.Count ?? 0;
                data[j] = PayloadBlobs.Encode(entries[j], _options.MaxEntryBytes, _options.PayloadBlobs, ref offloaded);
                bytes += data[j].Length;
                for (var b = before; b < (offloaded?.Count ?? 0); b++)
                {
                    (references ??= []).Add((appends[i].RunId, appends[i].ExpectedSequence + j, offloaded![b].Sha256));
                    bytes += offloaded[b].Data.Length;
                }
            }

            encoded[i] = data;
        }

        var item = new AppendItem(appends, encoded, bytes) { Blobs = offloaded, BlobReferences = references, Tokens = tokens };
        _writes.Enqueue(item);
        return new ValueTask(item.Task);
    }

    // Decides which append of a failed call failed, and why, from what the run was at inside the transaction.
    private static DurablyException Conflict(AppendItem item, Dictionary<RunId, (bool Found, long Actual, long Epoch)> found)
    {
        foreach (var append in item.Appends)
        {
            if (!found.TryGetValue(append.RunId, out var run))
            {
                continue;
            }

            if (append.ExpectedSequence == 0)
            {
                if (run.Found)
                {
                    return new JournalConcurrencyException(append.RunId, 0, run.Actual);
                }

                continue;
            }

            if (!run.Found)
            {
                return new RunNotFoundException(append.RunId);
            }

            if (append.LeaseEpoch is { } held && held != run.Epoch)
            {
                return new LeaseLostException(append.RunId, held, run.Epoch);
            }

            if (run.Actual != append.ExpectedSequence)
            {
                return new JournalConcurrencyException(append.RunId, append.ExpectedSequence, run.Actual);
            }
        }

        return new JournalConcurrencyException(item.Appends[0].RunId, item.Appends[0].ExpectedSequence, -1);
    }

    private sealed class AppendItem(IReadOnlyList<RunAppend> appends, byte[][][] encoded, long bytes) : GroupCommitItem
    {
        public IReadOnlyList<RunAppend> Appends => appends;

        public byte[][][] Encoded => encoded;

        public override long Size => bytes;

        // Payloads offloaded to the side table, and which entry refers to which (null when none).
        public List<OffloadedBlob>? Blobs { get; init; }

        public List<(RunId Run, long Sequence, string Hash)>? BlobReferences { get; init; }

        // The model tokens of the entries that record some (QueueAdmission.TokensUsed), for token-limited queues (null when none).
        public List<(RunId Run, long Sequence, long? Epoch, long Tokens)>? Tokens { get; init; }

        public bool NotifiesWorkers => appends.Any(a => a.Status == RunStatus.Pending || (a.ExpectedSequence == 0 && a.Status is null));
    }
}
