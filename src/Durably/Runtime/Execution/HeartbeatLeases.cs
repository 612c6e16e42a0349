namespace Durably;

// The heartbeat timeouts of the steps an activation runs live now. While any runs, the runtime keeps the run's lease at most the
// shortest of them ahead (renewing every third of it), so a worker that dies or freezes in such a step is replaced after about that
// long instead of a whole lease. Only steps with a heartbeat timeout touch it. Thread-safe: parallel steps enter and leave at once.
internal sealed class HeartbeatLeases
{
    private readonly Lock _gate = new();
    private readonly List<TimeSpan> _running = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // The shortest heartbeat timeout of the steps running now, or null when none has one.
    public TimeSpan? Shortest
    {
        get
        {
            lock (_gate)
            {
                return _running.Count == 0 ? null : _running.Min();
            }
        }
    }

    // Completes at the next change of Shortest's inputs: the renewal loop then renews at once with the new duration.
    public Task Changed
    {
        get
        {
            lock (_gate)
            {
                return _changed.Task;
            }
        }
    }

    public void Enter(TimeSpan timeout)
    {
        lock (_gate)
        {
            _running.Add(timeout);
            Signal();
        }
    }

    public void Leave(TimeSpan timeout)
    {
        lock (_gate)
        {
            _running.Remove(timeout);
            Signal();
        }
    }

    private void Signal()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }
}
