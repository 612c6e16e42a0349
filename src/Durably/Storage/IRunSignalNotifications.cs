namespace Durably.Storage;

/// <summary>Tells a worker, as soon as the store hears of it, that a signal was delivered to a run, possibly by another process.</summary>
/// <remarks>
/// <para>Optional, next to <see cref="IJournalStore"/>, for a store that can notify across processes (the PostgreSQL store does,
/// with <c>LISTEN</c>/<c>NOTIFY</c>). While a <see cref="DurableRuntime"/> executes a run it waits on this between lease renewals,
/// so a cancel sent from another process reaches the running step's <see cref="StepContext.CancellationToken"/> at once instead of
/// at the next renewal. Without it (or when a notification is lost) the renewal's look for a cancel is the fallback.</para>
/// <para>Notifications are hints: they may be spurious, and the caller reads the run's signals to see what arrived.</para>
/// </remarks>
public interface IRunSignalNotifications
{
    /// <summary>Waits until a signal may have been delivered to <paramref name="runId"/>, or until <paramref name="maxWait"/> has passed.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="maxWait">The longest wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns><see langword="true"/> when notified, <see langword="false"/> when <paramref name="maxWait"/> passed.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<bool> WaitForSignalAsync(RunId runId, TimeSpan maxWait, CancellationToken cancellationToken = default);
}
