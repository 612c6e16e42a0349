using System.Diagnostics.Metrics;
using System.Globalization;
using Durably.Journal;

namespace Durably.Storage;

/// <summary>Runs retention passes over a store: archive, purge, collect blobs (<see cref="RetentionPolicy"/>).</summary>
/// <remarks>
/// <para>Reuses <see cref="IJournalStore.PurgeRunsAsync"/>, so it works on any store; blobs are collected on stores that
/// implement <see cref="IJournalStoreBlobs"/>. Reports on the <c>Durably</c> meter: <c>durably.retention.runs.purged</c>,
/// <c>durably.retention.runs.archived</c>, <c>durably.retention.blobs.deleted</c>.</para>
/// <para>Archiving: the runs a purge would delete are read and written to the archive file, which is synced; then exactly
/// that many are purged with the same cut-off. Finished runs do not change, so those are the archived runs, unless another
/// process purges the same store at the same time: run one retention pass at a time per store.</para>
/// </remarks>
public static class JournalRetention
{
    private static readonly Counter<long> Purged = DurablyTelemetry.Meter.CreateCounter<long>("durably.retention.runs.purged", "{run}", "Finished runs deleted by retention.");
    private static readonly Counter<long> Archived = DurablyTelemetry.Meter.CreateCounter<long>("durably.retention.runs.archived", "{run}", "Finished runs written to a retention archive before they were deleted.");
    private static readonly Counter<long> BlobsDeleted = DurablyTelemetry.Meter.CreateCounter<long>("durably.retention.blobs.deleted", "{blob}", "Payload blobs no run referred to any more, deleted by retention.");

    /// <summary>Runs one pass of <paramref name="policy"/> over <paramref name="store"/>.</summary>
    /// <param name="store">The store.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="timeProvider">The clock the keep times are measured by; the system clock by default.</param>
    /// <param name="cancellationToken">Cancels the pass between store calls.</param>
    /// <exception cref="ArgumentOutOfRangeException">The policy is not valid.</exception>
    /// <exception cref="IOException">The archive could not be written; nothing of that batch was purged.</exception>
    public static async Task<RetentionResult> RunAsync(IJournalStore store, RetentionPolicy policy, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        var now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        var purged = new List<RunId>();
        long entries = 0;
        string? archive = null;
        foreach (var (keep, statuses) in new[]
        {
            (policy.KeepCompleted, new[] { RunStatus.Completed }),
            (policy.KeepFailed, new[] { RunStatus.Failed }),
            (policy.KeepCancelled, new[] { RunStatus.Cancelled, RunStatus.Compensated }),
        })
        {
            if (keep is not { } age)
            {
                continue;
            }

            var request = new PurgeRequest { Statuses = statuses, FinishedBefore = now - age, MaxRuns = policy.BatchSize };
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                PurgeResult result;
                if (policy.ArchiveDirectory is { } directory)
                {
                    var archived = await ArchiveAndPurgeAsync(store, request, directory, archive, cancellationToken).ConfigureAwait(false);
                    (result, archive) = (archived.Result, archived.File ?? archive);
                }
                else
                {
                    result = await store.PurgeRunsAsync(request, cancellationToken).ConfigureAwait(false);
                }

                purged.AddRange(result.Runs);
                entries += result.Entries;
                Purged.Add(result.Runs.Count);
                if (result.Runs.Count < request.MaxRuns)
                {
                    break;
                }
            }
        }

        BlobCollectionResult? blobs = null;
        if (policy.CollectBlobs && store is IJournalStoreBlobs collector)
        {
            blobs = await collector.CollectBlobsAsync(new BlobCollectionRequest(), cancellationToken).ConfigureAwait(false);
            BlobsDeleted.Add(blobs.Deleted);
        }

        return new RetentionResult(purged, entries, archive, blobs);
    }

    /// <summary>Writes the runs <paramref name="request"/> selects to a JSON lines archive in <paramref name="directory"/>, syncs it, then purges them.</summary>
    /// <param name="store">The store.</param>
    /// <param name="request">The purge; <see cref="PurgeRequest.DryRun"/> only reports.</param>
    /// <param name="directory">The archive folder, created if missing.</param>
    /// <param name="appendTo">An archive file of this pass to add to, or <see langword="null"/> to start a new file named by the time.</param>
    /// <param name="cancellationToken">Cancels before the purge.</param>
    /// <returns>The purge's result and the archive file (<see langword="null"/> when no run was selected).</returns>
    /// <exception cref="IOException">The archive could not be written; nothing was purged.</exception>
    public static async Task<(PurgeResult Result, string? File)> ArchiveAndPurgeAsync(IJournalStore store, PurgeRequest request, string directory, string? appendTo = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var selected = await store.PurgeRunsAsync(request with { DryRun = true }, cancellationToken).ConfigureAwait(false);
        if (selected.Runs.Count == 0 || request.DryRun)
        {
            return (selected, null);
        }

        Directory.CreateDirectory(directory);
        var file = appendTo ?? Path.Combine(Path.GetFullPath(directory), $"durably-archive-{DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..8]}.jsonl");
        await using (var output = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024, FileOptions.Asynchronous))
        {
            foreach (var runId in selected.Runs)
            {
                IReadOnlyList<JournalEntry> journal;
                try
                {
                    journal = await store.ReadAsync(runId, 0, cancellationToken).ConfigureAwait(false);
                }
                catch (RunNotFoundException)
                {
                    continue; // purged meanwhile by someone else
                }

                await JournalExport.WriteAsync(output, runId, journal, cancellationToken).ConfigureAwait(false);
            }

            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            output.Flush(flushToDisk: true);
        }

        Archived.Add(selected.Runs.Count);
        var result = await store.PurgeRunsAsync(request with { DryRun = false, MaxRuns = selected.Runs.Count }, cancellationToken).ConfigureAwait(false);
        return (result, file);
    }
}
