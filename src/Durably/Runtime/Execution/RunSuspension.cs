namespace Durably;

// Whether the activation is to unload, until when and waiting for what. Waits that end soon are kept in memory;
// longer ones suspend the run. Thread-safe: parallel steps may suspend at once, and the earliest wake time wins.
internal sealed class RunSuspension(DurableRuntimeOptions options)
{
    private readonly Lock _gate = new();
    private bool _suspended;
    private DateTimeOffset? _wakeAt;
    private string? _detail;

    public bool IsSuspended => Volatile.Read(ref _suspended);

    public DateTimeOffset? WakeAt
    {
        get
        {
            lock (_gate)
            {
                return _wakeAt;
            }
        }
    }

    // What the run waits for; every suspension of the activation, joined.
    public string? Detail
    {
        get
        {
            lock (_gate)
            {
                return _detail;
            }
        }
    }

    // Marks the run for unloading; the caller throws the returned exception to unwind the workflow code.
    public RunSuspendedException Suspend(DateTimeOffset? wakeAt, string detail)
    {
        lock (_gate)
        {
            Volatile.Write(ref _suspended, true);
            if (wakeAt is { } at && (_wakeAt is null || at < _wakeAt))
            {
                _wakeAt = at;
            }

            _detail = _detail is null ? detail : _detail + "; " + detail;
        }

        return new RunSuspendedException();
    }

    // Returns when the time has come: at once if due, in memory if soon, else suspends the run until then.
    public async Task WaitUntilAsync(DateTimeOffset due, string detail, CancellationToken cancellationToken)
    {
        var remaining = due - options.TimeProvider.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        if (remaining > options.MaxInMemoryWait)
        {
            throw Suspend(due, detail);
        }

        await Task.Delay(remaining, options.TimeProvider, cancellationToken).ConfigureAwait(false);
    }
}
