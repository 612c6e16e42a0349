namespace Durably.Storage;

/// <summary>Keeps named queues with limits, and enforces them in the store's claims across every worker of the store.</summary>
/// <remarks>
/// <para>Optional: a store implements it next to <see cref="IJournalStore"/>. A store that does keeps every run started on a
/// queue (<see cref="StartQueuedRunAsync"/>) out of the ordinary claim: <see cref="IJournalStore.ClaimRunsAsync"/> and
/// <see cref="IJournalStore.TryClaimRunAsync"/> lease a queued run only when its queue's limits
/// (<see cref="QueueDefinition"/>) allow, decided inside the claim's transaction, so two workers never both take the last slot.
/// Runs started without a queue are claimed exactly as before.</para>
/// <para>Order: a claim dequeues higher <see cref="QueuePlacement.Priority"/> first, then runs that were dequeued before (resuming
/// after a suspension or a crash, so they do not starve behind new ones), then the oldest. <see cref="QueueAdmission"/> holds the
/// decision, for stores to share.</para>
/// </remarks>
public interface IRunQueueStore
{
    /// <summary>Creates or replaces a queue's definition (last write wins); runs already queued are held to the new limits from the next claim on.</summary>
    /// <exception cref="ArgumentException">The definition is not valid (<see cref="QueueDefinition.Validate"/>).</exception>
    Task ConfigureQueueAsync(QueueDefinition definition, CancellationToken cancellationToken = default);

    /// <summary>Lists the configured queues by name, each with its current counts.</summary>
    Task<IReadOnlyList<QueueState>> ListQueuesAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates a run on a queue in one transaction with its placement, or returns the run it deduplicates or debounces to.</summary>
    /// <param name="start">The run's first append: sequence 0, a <see cref="Journal.RunStarted"/> entry.</param>
    /// <param name="placement">The queue, key, priority and debounce.</param>
    /// <param name="cancellationToken">Cancels the start (it may be durable already).</param>
    /// <returns>The run and whether it was started, existed (same id) or was debounced (a run of the same queue and key started within the window).</returns>
    /// <exception cref="QueueNotFoundException">The queue is not configured.</exception>
    /// <exception cref="ArgumentException">The append is not a run's first append, or the placement is not valid.</exception>
    Task<QueuedStart> StartQueuedRunAsync(RunAppend start, QueuePlacement placement, CancellationToken cancellationToken = default);
}
