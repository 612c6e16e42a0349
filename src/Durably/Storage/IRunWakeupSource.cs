namespace Durably.Storage;

/// <summary>Tells a waiting worker that there may be new work in the store: a signal was delivered, a run was started or a lease released, possibly by another process.</summary>
/// <remarks>
/// <para>Optional: a store implements it next to <see cref="IJournalStore"/> when it can notify workers across processes
/// (the PostgreSQL store does, with <c>LISTEN</c>/<c>NOTIFY</c>). A <see cref="DurableRuntime"/> over such a store
/// waits for a wake-up alongside its poll delay (<see cref="DurableRuntimeOptions.PollInterval"/>), so runs made
/// runnable elsewhere are claimed at once; polling stays the fallback, and the only way to notice a timer falling due
/// or a lease expiring.</para>
/// <para>Wake-ups are hints: they may be spurious (work another worker claims first), and an implementation may lose
/// some while it reconnects. The worker claims again after every wake-up, whatever it returned.</para>
/// </remarks>
public interface IRunWakeupSource
{
    /// <summary>Waits until there may be new work for a worker, or until <paramref name="maxWait"/> has passed.</summary>
    /// <param name="maxWait">The longest wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns><see langword="true"/> when woken by a notification, <see langword="false"/> when <paramref name="maxWait"/> passed.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<bool> WaitForWakeupAsync(TimeSpan maxWait, CancellationToken cancellationToken = default);
}
