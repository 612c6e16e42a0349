using Durably.Journal;
using Durably.Storage;

namespace Durably;

// How an activation ended.
internal enum ExecutionOutcome
{
    Finished,
    Suspended,
    SuspendedWithNewSignals,
    Abandoned,
}

internal sealed partial class RunExecution
{
    private bool _cancelRequested;

    public void Cancel()
    {
        _cancelRequested = true;
        _runCancellation.Cancel();
    }

    public async Task<ExecutionOutcome> RunAsync()
    {
        _cancelRequested |= _runCancellation.IsCancellationRequested && !_shutdown.IsCancellationRequested;
        _runtime.Observe(o => o.OnRunActivated(RunId, Started.Workflow, resumed: _nextSequence > 1));
        using var activity = DurablyTelemetry.StartRun(RunId, Started.Workflow);
        Payload? result = null;
        Exception? error = null;
        var context = new RunContext(this);
        try
        {
            // Off the caller's synchronization context: workflow code runs on the thread pool.
            result = await Task.Run(
                () =>
                {
                    RunContext.SetCurrent(context);
                    return Definition.InvokeAsync(context, Started.Input, Codec);
                },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        try
        {
            await _lastAppend.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _fault ??= ex;
        }

        try
        {
            return await FinishAsync(result, error).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DurablyException)
        {
            // The run could not record how it ended (lost lease, store failure); it stays unfinished for recovery.
            _runtime.LogAbandoned(RunId, ex);
            return ExecutionOutcome.Abandoned;
        }
    }

    private async Task<ExecutionOutcome> FinishAsync(Payload? result, Exception? error)
    {
        if (_fault is not null || _aborted || error is LeaseLostException || (_shutdown.IsCancellationRequested && !_cancelRequested))
        {
            _runtime.LogAbandoned(RunId, _fault ?? error ?? new OperationCanceledException("The runtime is stopping."));
            return ExecutionOutcome.Abandoned;
        }

        if (_nonDeterminism is null && error is null && !_suspended && _maxHistoryStep > Volatile.Read(ref _nextStep))
        {
            var extra = Enumerable.Range(Volatile.Read(ref _nextStep) + 1, _maxHistoryStep - Volatile.Read(ref _nextStep)).First(s => _history.ContainsKey(s) && _history[s].Kind is not null);
            var record = _history[extra];
            _ = NonDeterminism(extra, $"{Describe(record.Kind!.Value)} '{record.Name}'", "no further step (the workflow returned)");
        }

        if (_nonDeterminism is { } nd)
        {
            // The journal is left as it is: deploy code that replays it and the run can continue.
            await AppendAsync([], RunStatus.Failed, detail: nd.Message).ConfigureAwait(false);
            _runtime.LogNonDeterminism(RunId, nd);
            Finished(RunStatus.Failed, null, ErrorInfo.FromException(nd));
            return ExecutionOutcome.Finished;
        }

        if (_suspended && !(_cancelRequested && error is OperationCanceledException))
        {
            await AppendAsync([], RunStatus.Suspended, _wakeAt, _suspendDetail).ConfigureAwait(false);
            _runtime.Observe(o => o.OnRunSuspended(RunId, _suspendDetail ?? "waiting", _wakeAt));
            _runtime.NoteWakeTime(_wakeAt);

            // A signal that arrived after this run read its inbox would otherwise wait for the next poll.
            return await HasNewSignalsAsync(CancellationToken.None).ConfigureAwait(false) ? ExecutionOutcome.SuspendedWithNewSignals : ExecutionOutcome.Suspended;
        }

        if (error is null)
        {
            await AppendAsync([new RunCompleted { Result = result }], RunStatus.Completed).ConfigureAwait(false);
            Finished(RunStatus.Completed, result, null);
            return ExecutionOutcome.Finished;
        }

        var cancelled = _cancelRequested && error is OperationCanceledException;
        var info = ErrorInfo.FromException(error);
        bool compensated;
        try
        {
            compensated = await CompensateAsync().ConfigureAwait(false);
        }
        catch (RunSuspendedException)
        {
            return await FinishAsync(null, error).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StepFailedException)
        {
            var failure = new ErrorInfo(info.Type, $"{info.Message} Then a compensation failed: {ex.Message}");
            await AppendAsync([new RunFailed { Error = SealError(failure) }], RunStatus.Failed).ConfigureAwait(false);
            Finished(RunStatus.Failed, null, failure);
            return ExecutionOutcome.Finished;
        }

        if (_suspended)
        {
            return await FinishAsync(null, error).ConfigureAwait(false);
        }

        var status = compensated ? RunStatus.Compensated : cancelled ? RunStatus.Cancelled : RunStatus.Failed;
        JournalEntry end = cancelled ? new RunCancelled { Reason = CancelReason() } : new RunFailed { Error = SealError(info) };
        await AppendAsync([end], status).ConfigureAwait(false);
        Finished(status, null, cancelled ? null : info);
        return ExecutionOutcome.Finished;
    }

    private string? CancelReason()
    {
        var signal = _inbox.FirstOrDefault(s => s.Name == SignalNames.Cancel);
        return signal?.Payload is { } payload ? Codec.Decode<string>(payload) : "cancelled";
    }

    private void Finished(RunStatus status, Payload? result, ErrorInfo? error)
    {
        _runtime.Observe(o => o.OnRunFinished(RunId, status, result, error));
    }
}
