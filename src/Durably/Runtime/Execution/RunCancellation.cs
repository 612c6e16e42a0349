namespace Durably;

// How an activation stops: a cancel requested for the run (it unwinds, compensates and ends cancelled), the runtime
// shutting down (the run stays unfinished for recovery), or an abort after a lost lease (nothing more is written).
internal sealed class RunCancellation(CancellationToken shutdown)
{
    private readonly CancellationTokenSource _run = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
    private volatile bool _cancelRequested;
    private volatile bool _aborted;
    private volatile bool _compensating;

    // Cancelled by a cancel request, an abort or shutdown: workflow code and live step bodies see it.
    public CancellationToken Token => _run.Token;

    public CancellationToken Shutdown => shutdown;

    public bool CancelRequested => _cancelRequested;

    public bool IsAborted => _aborted;

    public bool IsCompensating => _compensating;

    // What a step body gets: compensations run after a cancel, so they stop only when the runtime does.
    public CancellationToken StepToken => _compensating ? shutdown : _run.Token;

    // A $cancel signal read from the inbox at load: honoured once the activation starts, unless the runtime is stopping then.
    public void CancelPending() => _run.Cancel();

    public void NoteCancelledBeforeStart() => _cancelRequested |= _run.IsCancellationRequested && !shutdown.IsCancellationRequested;

    public void Cancel()
    {
        _cancelRequested = true;
        _run.Cancel();
    }

    // Stops the activation without recording anything (the lease was lost).
    public void Abort()
    {
        _aborted = true;
        _run.Cancel();
    }

    public void BeginCompensating() => _compensating = true;

    // Checked only where a call would run live: replayed calls still replay, so that the compensations they
    // registered are known when the run unwinds.
    public void ThrowIfCancelled()
    {
        if (!_compensating)
        {
            _run.Token.ThrowIfCancellationRequested();
        }
    }
}
