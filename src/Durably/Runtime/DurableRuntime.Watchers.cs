using System.Collections.Concurrent;

namespace Durably;

// Wakes the watchers of a run in this process (DurableClient.WatchAsync through this runtime's client) as soon as one of
// the run's writes is durable, so they need not poll the store. Costs one read of a counter per write while nobody watches.
public sealed partial class DurableRuntime
{
    private readonly ConcurrentDictionary<RunId, TaskCompletionSource> _appendWaiters = new();
    private int _appendWaiterCount;

    // Completes after the run's next durable write. Take it before reading the journal, so a write between the read and
    // the wait is not missed.
    internal Task WhenAppended(RunId runId)
    {
        if (_appendWaiters.TryGetValue(runId, out var existing))
        {
            return existing.Task;
        }

        var added = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiter = _appendWaiters.GetOrAdd(runId, added);
        if (ReferenceEquals(waiter, added))
        {
            Interlocked.Increment(ref _appendWaiterCount);
        }

        return waiter.Task;
    }

    internal void NotifyAppended(RunId runId)
    {
        if (Volatile.Read(ref _appendWaiterCount) == 0 || !_appendWaiters.TryRemove(runId, out var waiter))
        {
            return;
        }

        Interlocked.Decrement(ref _appendWaiterCount);
        waiter.TrySetResult();
    }
}
