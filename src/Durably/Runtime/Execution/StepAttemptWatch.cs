namespace Durably;

// Watches one live attempt of a step that has a start-to-close or a heartbeat timeout: it gives the body a token of its own,
// cancels it when the attempt runs too long or, once the body has heartbeated, goes too long without heartbeating again, and
// says which limit was hit. Steps without timeouts never create one, so their path stays as it was.
internal sealed class StepAttemptWatch : IDisposable
{
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _token;
    private readonly TaskCompletionSource _expired = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly ITimer? _startToClose;
    private ITimer? _heartbeatWatch;
    private long _lastBeat;
    private int _expiredKind = -1;
    private bool _disposed;

    private StepAttemptWatch(TimeProvider time, CancellationToken runToken, TimeSpan? startToClose, TimeSpan? heartbeat)
    {
        _time = time;
        HeartbeatTimeout = heartbeat;
        StartToCloseTimeout = startToClose;
        _token = CancellationTokenSource.CreateLinkedTokenSource(runToken);
        if (startToClose is { } limit)
        {
            _startToClose = time.CreateTimer(static s => ((StepAttemptWatch)s!).Expire(StepTimeoutKind.StartToClose), this, limit, Timeout.InfiniteTimeSpan);
        }
    }

    public TimeSpan? HeartbeatTimeout { get; }

    public TimeSpan? StartToCloseTimeout { get; }

    // The body's token: cancelled with the run (cancel, shutdown, lost lease) and when a limit is hit.
    public CancellationToken Token => _token.Token;

    // Completes when a limit is hit, whether or not the body notices.
    public Task Expired => _expired.Task;

    // Which limit was hit, or null while none was.
    public StepTimeoutKind? ExpiredBy => Volatile.Read(ref _expiredKind) is var kind and >= 0 ? (StepTimeoutKind)kind : null;

    public string? LastDetails { get; private set; }

    // A watch for the step's timeouts, or null when it has none (checked and validated by the step runner).
    public static StepAttemptWatch? For(StepOptions options, TimeProvider time, CancellationToken runToken)
        => options.StartToCloseTimeout is null && options.HeartbeatTimeout is null ? null : new StepAttemptWatch(time, runToken, options.StartToCloseTimeout, options.HeartbeatTimeout);

    public StepTimeoutException ToException(string name, int step, int attempt)
    {
        var kind = ExpiredBy ?? throw new InvalidOperationException("The attempt did not time out.");
        return new StepTimeoutException(name, step, attempt, kind, kind == StepTimeoutKind.Heartbeat ? HeartbeatTimeout!.Value : StartToCloseTimeout!.Value, LastDetails);
    }

    // The body says it is alive. The first call arms the hang check; later ones only move the last-beat time on.
    public void Beat(string? details)
    {
        if (HeartbeatTimeout is not { } limit)
        {
            return;
        }

        Volatile.Write(ref _lastBeat, _time.GetTimestamp());
        if (details is not null)
        {
            LastDetails = details;
        }

        if (_heartbeatWatch is null)
        {
            lock (_gate)
            {
                if (_heartbeatWatch is null && !_disposed)
                {
                    _heartbeatWatch = _time.CreateTimer(static s => ((StepAttemptWatch)s!).CheckHeartbeat(), this, limit, Timeout.InfiniteTimeSpan);
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _startToClose?.Dispose();
            _heartbeatWatch?.Dispose();
        }

        _token.Dispose();
    }

    // Fires one limit after the last beat it knew of: if the body beat since, it waits the rest of the limit from that beat.
    private void CheckHeartbeat()
    {
        var silent = _time.GetElapsedTime(Volatile.Read(ref _lastBeat));
        var limit = HeartbeatTimeout!.Value;
        if (silent >= limit)
        {
            Expire(StepTimeoutKind.Heartbeat);
            return;
        }

        lock (_gate)
        {
            if (!_disposed)
            {
                _heartbeatWatch!.Change(limit - silent, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Expire(StepTimeoutKind kind)
    {
        if (Interlocked.CompareExchange(ref _expiredKind, (int)kind, -1) != -1)
        {
            return;
        }

        // The outcome is known first, so a body that throws on the cancellation is seen as timed out, not as failing by itself.
        _expired.TrySetResult();
        try
        {
            _token.Cancel();
        }
        catch (AggregateException)
        {
            // A callback the body registered on its token threw; the attempt fails with the timeout either way.
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended as the limit was hit.
        }
    }
}
