using Durably.Journal;
using Durably.Storage;

namespace Durably;

// Claiming runs, executing them with leases renewed in the background, and waking for timers, signals and store wake-ups.
public sealed partial class DurableRuntime
{
    private async Task LoopAsync()
    {
        var token = _shutdown.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await ClaimAndLaunchAsync(includeOwnLeases: false, token).ConfigureAwait(false);
                RecordPoll(null);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                RecordPoll(ex);
                Log.ClaimFailed(_logger, ex);
            }

            await WaitForWorkAsync(token).ConfigureAwait(false);
        }
    }

    private async Task WaitForWorkAsync(CancellationToken token)
    {
        var wait = Options.PollInterval;
        lock (_wakeGate)
        {
            if (_nextWake is { } wake)
            {
                var untilWake = wake - Options.TimeProvider.GetUtcNow();
                if (untilWake <= TimeSpan.Zero)
                {
                    _nextWake = null;
                    return;
                }

                if (untilWake < wait)
                {
                    wait = untilWake;
                }
            }
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        var poke = _poke.WaitAsync(stop.Token);
        var delay = Task.Delay(wait, Options.TimeProvider, stop.Token);
        if (Store is IRunWakeupSource wakeups)
        {
            await Task.WhenAny(poke, delay, WaitForWakeupAsync(wakeups, wait, stop.Token)).ConfigureAwait(false);
        }
        else
        {
            await Task.WhenAny(poke, delay).ConfigureAwait(false);
        }

        await stop.CancelAsync().ConfigureAwait(false);
        if (poke.IsCompletedSuccessfully)
        {
            // Drain extra pokes: one pass serves them all.
            while (_poke.Wait(0))
            {
            }
        }
    }

    // A store's wake-up (another process delivered a signal, started or released a run) ends the wait early.
    private async Task WaitForWakeupAsync(IRunWakeupSource wakeups, TimeSpan wait, CancellationToken token)
    {
        try
        {
            await wakeups.WaitForWakeupAsync(wait, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Without wake-ups the poll delay decides; returning now would make the loop spin.
            Log.WakeupFailed(_logger, ex);
            await Task.Delay(Timeout.InfiniteTimeSpan, token).ConfigureAwait(false);
        }
    }

    private async Task<int> ClaimAndLaunchAsync(bool includeOwnLeases, CancellationToken token)
    {
        var launched = 0;
        while (_slots.CurrentCount > 0 && !token.IsCancellationRequested)
        {
            var free = _slots.CurrentCount;
            var leases = await Store.ClaimRunsAsync(new ClaimRequest { Owner = Options.WorkerId, MaxRuns = free, LeaseDuration = Options.LeaseDuration, IncludeOwnLeases = includeOwnLeases }, token).ConfigureAwait(false);
            foreach (var lease in leases)
            {
                if (!_slots.Wait(0))
                {
                    // No slot after all (a run was activated directly meanwhile): let the lease go for the next pass.
                    await ReleaseQuietlyAsync(lease).ConfigureAwait(false);
                    continue;
                }

                if (_active.TryAdd(lease.RunId, null))
                {
                    Launch(lease);
                    launched++;
                }
                else
                {
                    // The run's previous activation here is still winding down: it released its lease and has not left
                    // yet. Kept, this fresh lease would sit unused until it expired (the run stalled for the whole lease),
                    // so let it go; that activation pokes the loop as it leaves, and the next pass claims the run again.
                    // The release is fenced by the epoch: if another path here took the run over meanwhile, it is a no-op.
                    _slots.Release();
                    await ReleaseQuietlyAsync(lease).ConfigureAwait(false);
                }
            }

            if (leases.Count < free)
            {
                break;
            }
        }

        return launched;
    }

    // Executes a run now if this runtime is started and has a free slot; otherwise the loop claims it later.
    internal async Task TryActivateAsync(RunId runId)
    {
        if (_loop is null || _shutdown.IsCancellationRequested)
        {
            return;
        }

        if (!_slots.Wait(0))
        {
            _poke.Release();
            return;
        }

        if (!_active.TryAdd(runId, null))
        {
            _slots.Release();
            return;
        }

        RunLease? lease = null;
        try
        {
            lease = await Store.TryClaimRunAsync(runId, Options.WorkerId, Options.LeaseDuration).ConfigureAwait(false);
        }
        finally
        {
            if (lease is null)
            {
                _active.TryRemove(runId, out _);
                _slots.Release();
            }
        }

        if (lease is not null)
        {
            Launch(lease);
        }
    }

    private void Launch(RunLease lease)
    {
        var task = Task.Run(() => ExecuteAsync(lease));
        lock (_executions)
        {
            _executions.RemoveAll(t => t.IsCompleted);
            _executions.Add(task);
        }
    }

    private async Task ExecuteAsync(RunLease lease)
    {
        var release = true;
        try
        {
            while (true)
            {
                var history = RunHistory.FromJournal(await Store.ReadAsync(lease.RunId, 0, _shutdown.Token).ConfigureAwait(false));
                if (history.IsFinished)
                {
                    NotifyFinished(lease.RunId, history.End is RunCompleted completed ? new RunFinish(RunStatus.Completed, completed.Result) : null);
                    return;
                }

                if (!_workflows.TryGetValue(history.Started.Workflow, out var definition))
                {
                    // Keep the lease until it expires: another worker that knows the workflow may take the run then,
                    // and this one does not spin on it meanwhile.
                    release = false;
                    Log.ExecutionFailed(_logger, lease.RunId, new WorkflowNotFoundException(history.Started.Workflow));
                    return;
                }

                var execution = await RunExecution.CreateAsync(this, lease, history, definition, _shutdown.Token).ConfigureAwait(false);
                _active[lease.RunId] = execution;
                using var renewal = new CancellationTokenSource();
                var renewing = RenewAsync(execution, renewal.Token);
                var outcome = await execution.RunAsync().ConfigureAwait(false);
                await renewal.CancelAsync().ConfigureAwait(false);
                await renewing.ConfigureAwait(false);
                lease = execution.Lease;
                if (outcome == ExecutionOutcome.Finished)
                {
                    release = false;
                    NotifyFinished(lease.RunId, execution.Finish);
                    return;
                }

                if (outcome == ExecutionOutcome.Abandoned && !_shutdown.IsCancellationRequested)
                {
                    // A lost lease belongs to someone else now; after a store failure, keeping the lease until it
                    // expires is the backoff: the run is tried again then, not in a hot loop.
                    release = false;
                    return;
                }

                if (outcome != ExecutionOutcome.SuspendedWithNewSignals || _shutdown.IsCancellationRequested)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_shutdown.IsCancellationRequested)
        {
            // The journal could not be loaded (a store failure, a damaged entry): retry when the lease expires, not in a loop.
            release = false;
            Log.ExecutionFailed(_logger, lease.RunId, ex);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            if (release)
            {
                await ReleaseQuietlyAsync(lease).ConfigureAwait(false);
            }

            _active.TryRemove(lease.RunId, out _);
            _slots.Release();
            _poke.Release();
        }
    }

    private async Task ReleaseQuietlyAsync(RunLease lease)
    {
        try
        {
            await Store.ReleaseLeaseAsync(lease).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DurablyException or ObjectDisposedException)
        {
            // The lease expires by itself.
        }
    }

    // Renews the lease every third of its duration: the runtime's LeaseDuration, or while steps with a heartbeat timeout run, the
    // shortest of those (then at once when such a step starts or ends, so the lease follows it). After each renewal it looks for a
    // cancel delivered by another process, so the cancel reaches the running step's token; a failed renewal or look is tried again
    // on the next round, fencing protects the journal meanwhile. A store that notifies signals (IRunSignalNotifications) ends the
    // wait early when one is delivered to the run: then it only looks for a cancel, and renews when due.
    private async Task RenewAsync(RunExecution execution, CancellationToken token)
    {
        var heartbeats = execution.Heartbeats;
        var time = Options.TimeProvider;
        var signals = Store as IRunSignalNotifications;
        var renewedAt = time.GetUtcNow();
        while (!token.IsCancellationRequested)
        {
            try
            {
                // Measured from the last renewal's start, so the time a renewal takes does not stretch the interval.
                var changed = heartbeats.Changed;
                var due = renewedAt + (LeaseFor(heartbeats.Shortest) / 3) - time.GetUtcNow();
                if (due > TimeSpan.Zero)
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(token);
                    var delay = Task.Delay(due, time, wait.Token);
                    var signalled = signals?.WaitForSignalAsync(execution.RunId, due, wait.Token);
                    var woken = await (signalled is null ? Task.WhenAny(delay, changed) : Task.WhenAny(delay, changed, signalled)).ConfigureAwait(false);
                    await wait.CancelAsync().ConfigureAwait(false);
                    token.ThrowIfCancellationRequested();
                    if (woken == signalled && signalled.IsCompletedSuccessfully && signalled.Result)
                    {
                        await execution.CancelIfRequestedAsync(token).ConfigureAwait(false);
                        continue;
                    }
                }

                token.ThrowIfCancellationRequested();
                renewedAt = time.GetUtcNow();
                execution.Lease = await Store.RenewLeaseAsync(execution.Lease, LeaseFor(heartbeats.Shortest), token).ConfigureAwait(false);
                await execution.CancelIfRequestedAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (LeaseLostException ex)
            {
                // Another worker owns the run now: stop writing (appends are fenced anyway) and let go.
                Log.LeaseLost(_logger, execution.RunId, ex);
                execution.Abort();
                return;
            }
            catch (Exception ex) when (ex is DurablyException or ObjectDisposedException or OperationCanceledException)
            {
                // Retried on the next round; fencing protects the journal meanwhile.
            }
        }
    }

    private TimeSpan LeaseFor(TimeSpan? heartbeat) => heartbeat is { } h && h < Options.LeaseDuration ? h : Options.LeaseDuration;
}
