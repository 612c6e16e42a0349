using Durably.Journal;

namespace Durably.Storage;

/// <summary>Stores run journals: the append-only entry sequences, the run index, signal inboxes and leases.</summary>
/// <remarks>
/// <para>Implementations are thread-safe. An append completes only after its entries are durable as the
/// store defines it (for SQLite with <c>synchronous=FULL</c>: synced to disk), and never partially: one
/// call's entries, across all its runs, are committed together or not at all.</para>
/// <para>Leases fence writers: a store that supports several workers checks
/// <see cref="RunAppend.LeaseEpoch"/> in the same transaction as the append.</para>
/// </remarks>
public interface IJournalStore : IAsyncDisposable
{
    /// <summary>Appends entries to one or more runs atomically and waits until they are durable.</summary>
    /// <exception cref="JournalConcurrencyException">A run's journal is not at the expected sequence (another writer got there first, or the run exists already).</exception>
    /// <exception cref="LeaseLostException">A fenced append's epoch is no longer the run's lease epoch.</exception>
    /// <exception cref="RunNotFoundException">An append past sequence 0 names a run that does not exist.</exception>
    /// <exception cref="PayloadTooLargeException">An entry is larger than the store's limit; nothing was written.</exception>
    /// <exception cref="JournalStoreException">The store could not make the entries durable (disk full, I/O error); nothing was acknowledged.</exception>
    /// <exception cref="JournalStoreFailedException">An I/O error while making a commit durable: the entries may or may not be in the journal when the store is reopened, and the store accepts no more writes until it is.</exception>
    ValueTask AppendAsync(IReadOnlyList<RunAppend> appends, CancellationToken cancellationToken = default);

    /// <summary>Reads a run's journal entries from <paramref name="fromSequence"/> on, in sequence order.</summary>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    Task<IReadOnlyList<JournalEntry>> ReadAsync(RunId runId, long fromSequence = 0, CancellationToken cancellationToken = default);

    /// <summary>Returns a run's index record, or <see langword="null"/> when it does not exist.</summary>
    Task<RunRecord?> GetRunAsync(RunId runId, CancellationToken cancellationToken = default);

    /// <summary>Lists runs matching <paramref name="query"/>, one page at a time.</summary>
    /// <exception cref="ArgumentException">The continuation token is not one this store issued.</exception>
    Task<RunPage> ListRunsAsync(RunQuery query, CancellationToken cancellationToken = default);

    /// <summary>Puts a signal into a run's inbox durably and makes a suspended run runnable.</summary>
    /// <remarks>Safe to call from another process while a host has the store open. The run consumes the signal when it next replays to a matching wait.</remarks>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    /// <exception cref="RunFinishedException">The run has finished; it will never consume the signal.</exception>
    Task<DeliveredSignal> DeliverSignalAsync(RunId runId, SignalMessage signal, CancellationToken cancellationToken = default);

    /// <summary>Reads a run's delivered signals with an id greater than <paramref name="afterSignalId"/>, in delivery order.</summary>
    Task<IReadOnlyList<DeliveredSignal>> ReadSignalsAsync(RunId runId, long afterSignalId = 0, CancellationToken cancellationToken = default);

    /// <summary>Leases runnable runs (pending, running without a live lease, or suspended and due) to a worker.</summary>
    /// <remarks>Each claim increases the run's lease epoch. Leases are measured by the store's clock.</remarks>
    Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default);

    /// <summary>Leases one run to a worker if it is runnable (pending, running, or suspended and due, as <see cref="ClaimRunsAsync"/> takes runs) and nobody else holds a live lease on it.</summary>
    /// <remarks>A suspended run whose wake-up time has not come (a timer not yet due, a wait no signal has answered) is not
    /// claimed: executing it would only replay it to the same suspension. Delivering a signal makes it due at once.</remarks>
    /// <returns>The lease, or <see langword="null"/> when another worker holds it, the run is suspended and not due, or it has finished.</returns>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    Task<RunLease?> TryClaimRunAsync(RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default);

    /// <summary>Extends a lease the caller still holds.</summary>
    /// <remarks>The lease then expires <paramref name="leaseDuration"/> after the store's now, sooner than before when that is shorter:
    /// the runtime keeps a lease only as far ahead as a running step's heartbeat timeout (<see cref="StepOptions.HeartbeatTimeout"/>).</remarks>
    /// <exception cref="LeaseLostException">The lease expired and another worker claimed the run, or the run finished.</exception>
    Task<RunLease> RenewLeaseAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default);

    /// <summary>Gives a lease up so another worker may claim the run at once. Does nothing if the lease was lost already.</summary>
    Task ReleaseLeaseAsync(RunLease lease, CancellationToken cancellationToken = default);

    /// <summary>Deletes finished runs (journal, signals, index row) selected by <paramref name="request"/> and lets the store reclaim the space.</summary>
    /// <remarks>Never deletes an unfinished run. Journals must not grow forever: run this on a schedule (<c>durably runs purge</c>).</remarks>
    /// <exception cref="ArgumentException">The request names an unfinished status.</exception>
    Task<PurgeResult> PurgeRunsAsync(PurgeRequest request, CancellationToken cancellationToken = default);
}
