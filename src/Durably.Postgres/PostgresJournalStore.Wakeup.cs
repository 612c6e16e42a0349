using Durably.Storage;
using Npgsql;

namespace Durably.Postgres;

// Wake-ups: one connection per store LISTENs on the schema's channel; DeliverSignalAsync, new runs and released
// leases NOTIFY it. Workers wait with a timeout, which is the polling fallback when notifications are lost. A signal's
// notification carries its run's id, which also wakes that run's signal waiters (IRunSignalNotifications).
public sealed partial class PostgresJournalStore : IRunSignalNotifications
{
    private readonly Lock _wakeGate = new();
    private readonly Dictionary<string, SignalWaiters> _signalWaiters = new(StringComparer.Ordinal);
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _wakePending;
    private int _waiters;
    private Task? _listener;

    /// <summary>Waits until there may be new work for a worker (a signal was delivered, a run was started or released) or until <paramref name="maxWait"/> has passed.</summary>
    /// <param name="maxWait">The longest wait: the polling interval. Timers falling due are not notified, so keep it at most as long as the delay you accept on a due timer.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns><see langword="true"/> when woken by a notification, <see langword="false"/> when <paramref name="maxWait"/> passed.</returns>
    /// <remarks>
    /// <para>A worker loop claims runs with <see cref="ClaimRunsAsync"/>, and when there are none, calls this
    /// method and claims again when it returns, whatever it returns:</para>
    /// <code>
    /// while (!stopping.IsCancellationRequested)
    /// {
    ///     var leases = await store.ClaimRunsAsync(new ClaimRequest { Owner = workerName }, stopping);
    ///     if (leases.Count == 0)
    ///     {
    ///         await store.WaitForWakeupAsync(TimeSpan.FromSeconds(5), stopping);
    ///     }
    ///     // ... run the leased runs ...
    /// }
    /// </code>
    /// <para>The first call starts listening on a dedicated connection (<c>LISTEN durably_&lt;schema&gt;</c>) and
    /// returns <see langword="true"/> as soon as it listens, because notifications sent before were missed. A
    /// notification that arrives while nobody waits is kept for the next call, so work announced between a claim
    /// and the wait is not missed. Wake-ups can be spurious (a signal for a run another worker holds), never
    /// harmful. If the listening connection breaks, waits time out (polling) until it reconnects, and the first
    /// wait after the reconnect returns <see langword="true"/>.</para>
    /// <para>Thread-safe: every waiter present when a notification arrives is woken.</para>
    /// </remarks>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<bool> WaitForWakeupAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWait, TimeSpan.Zero);
        ThrowIfDisposed();
        Task wake;
        lock (_wakeGate)
        {
            StartListening();
            if (_wakePending)
            {
                _wakePending = false;
                return true;
            }

            _waiters++;
            wake = _wake.Task;
        }

        try
        {
            await wake.WaitAsync(maxWait, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            // A notification may have completed the wait just as it timed out.
            lock (_wakeGate)
            {
                return wake.IsCompleted;
            }
        }
        finally
        {
            lock (_wakeGate)
            {
                _waiters--;
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>Listens on the store's notification connection (started by the first wait of either kind). A wait that begins while
    /// the listener connects, or reconnects after losing its connection, is woken when it listens, because a notification may have
    /// been missed.</remarks>
    public async Task<bool> WaitForSignalAsync(RunId runId, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWait, TimeSpan.Zero);
        ThrowIfDisposed();
        SignalWaiters waiters;
        lock (_wakeGate)
        {
            StartListening();
            if (!_signalWaiters.TryGetValue(runId.Value, out waiters!))
            {
                _signalWaiters[runId.Value] = waiters = new SignalWaiters();
            }

            waiters.Count++;
        }

        try
        {
            await waiters.Signalled.Task.WaitAsync(maxWait, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return waiters.Signalled.Task.IsCompleted;
        }
        finally
        {
            lock (_wakeGate)
            {
                if (--waiters.Count == 0 && _signalWaiters.TryGetValue(runId.Value, out var current) && ReferenceEquals(current, waiters))
                {
                    _signalWaiters.Remove(runId.Value);
                }
            }
        }
    }

    // Wakes the waiters of the run a notification names, or of every run (null: the listener has just connected).
    private void WakeSignalWaiters(string? runId)
    {
        lock (_wakeGate)
        {
            if (runId is null)
            {
                foreach (var waiters in _signalWaiters.Values)
                {
                    waiters.Signalled.TrySetResult();
                }

                _signalWaiters.Clear();
            }
            else if (_signalWaiters.Remove(runId, out var waiters))
            {
                waiters.Signalled.TrySetResult();
            }
        }
    }

    // Starts the listener on its first use. Under _wakeGate.
    private void StartListening() => _listener ??= Task.Run(() => ListenLoopAsync(_stopping.Token));

    private void Wake()
    {
        lock (_wakeGate)
        {
            if (_waiters == 0)
            {
                _wakePending = true;
                return;
            }

            _wake.TrySetResult();
            _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private async Task ListenLoopAsync(CancellationToken stopping)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(stopping).ConfigureAwait(false);
                connection.Notification += (_, e) =>
                {
                    Wake();
                    if (e.Payload.Length > 0)
                    {
                        WakeSignalWaiters(e.Payload);
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {_sql.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stopping).ConfigureAwait(false);
                }

                Log.Listening(_logger, _sql.Channel, _location);
                delay = TimeSpan.FromMilliseconds(100);
                Wake();
                WakeSignalWaiters(null);
                await using var ping = new NpgsqlCommand("SELECT 1", connection);
                while (true)
                {
                    if (!await connection.WaitAsync(_options.ListenerKeepAlive, stopping).ConfigureAwait(false))
                    {
                        // An idle connection whose server went away may not notice; a query does.
                        await ping.ExecuteScalarAsync(stopping).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Whatever broke the listener, waits fall back to polling until it is back.
                Log.ListenerLost(_logger, _location, ex);
            }

            try
            {
                await Task.Delay(delay, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.TicksPerSecond * 5));
        }
    }

    // The waits for signals to one run: completed (and removed) by a notification naming the run.
    private sealed class SignalWaiters
    {
        public TaskCompletionSource Signalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count { get; set; }
    }
}
