using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.Logging;

namespace Durably;

// One activation of a run: re-executes the workflow from the top over its loaded history (durable calls go to the step
// and wait runners, which replay what is journaled and execute the rest), and ends by completing, failing, or suspending
// the run, or by abandoning it to recovery when it cannot record how it ended.
internal sealed class RunExecution
{
    private readonly Activation _run;
    private Activity? _span;
    private int _guidCounter;
    private Random? _random;

    private RunExecution(Activation run)
    {
        _run = run;
        Steps = new StepRunner(run);
        Waits = new WaitRunner(run);
        Children = new ChildRunner(run);
        ReplaySafeLogger = new ReplaySafeLogger(run.Runtime.WorkflowLogger, run.Cursor);
    }

    public RunId RunId => _run.RunId;

    // How the run ended, once this activation finished it (its end is durable by then).
    public RunFinish? Finish { get; private set; }

    // Renewed by the runtime while the activation runs.
    public RunLease Lease
    {
        get => _run.Journal.Lease;
        set => _run.Journal.Lease = value;
    }

    public RunStarted Started => _run.History.Started;

    public bool IsReplaying => _run.Cursor.IsReplaying;

    public CancellationToken RunCancellation => _run.Cancellation.Token;

    public ILogger ReplaySafeLogger { get; }

    public StepRunner Steps { get; }

    public WaitRunner Waits { get; }

    public ChildRunner Children { get; }

    public DurableRuntime Runtime => _run.Runtime;

    public Random Random => _random ??= new Random(StableSeed(RunId.Value));

    // Prepares an activation of an unfinished run whose journal is loaded into history.
    public static async Task<RunExecution> CreateAsync(DurableRuntime runtime, RunLease lease, RunHistory history, WorkflowDefinition definition, CancellationToken shutdown)
        => new(await Activation.LoadAsync(runtime, lease, history, definition, shutdown).ConfigureAwait(false));

    // Stops the activation without recording anything (the lease was lost).
    public void Abort() => _run.Cancellation.Abort();

    public void Cancel() => _run.Cancellation.Cancel();

    // The heartbeat timeouts of the steps running now, which the lease renewal follows.
    public HeartbeatLeases Heartbeats => _run.Heartbeats;

    // Cancels the activation if a client (possibly in another process) delivered a cancel since it loaded; true if it did.
    public async Task<bool> CancelIfRequestedAsync(CancellationToken cancellationToken)
    {
        if (_run.Cancellation.CancelRequested || !await _run.Inbox.CancelArrivedAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        Cancel();
        return true;
    }

    public Guid NextGuid()
    {
        var counter = Interlocked.Increment(ref _guidCounter);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{RunId.Value}/guid/{counter}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5 (name-based)
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    public async Task<ExecutionOutcome> RunAsync()
    {
        var runtime = _run.Runtime;
        _run.Cancellation.NoteCancelledBeforeStart();
        var resumed = _run.History.NextSequence > 1;
        runtime.Observe(o => o.OnRunActivated(RunId, Started.Workflow, resumed));
        using var activity = DurablyTelemetry.StartRun(RunId, Started.Workflow, resumed);
        _span = activity;
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
                    return _run.Definition.InvokeAsync(context, Started.Input, _run.Codec);
                },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        await _run.Journal.DrainAsync().ConfigureAwait(false);
        try
        {
            return await FinishAsync(result, error).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DurablyException)
        {
            // The run could not record how it ended (lost lease, store failure); it stays unfinished for recovery.
            runtime.LogAbandoned(RunId, ex);
            return ExecutionOutcome.Abandoned;
        }
    }

    private async Task<ExecutionOutcome> FinishAsync(Payload? result, Exception? error)
    {
        var (runtime, journal, cancellation, suspension) = (_run.Runtime, _run.Journal, _run.Cancellation, _run.Suspension);
        if (journal.Fault is not null || cancellation.IsAborted || error is LeaseLostException || (cancellation.Shutdown.IsCancellationRequested && !cancellation.CancelRequested))
        {
            runtime.LogAbandoned(RunId, journal.Fault ?? error ?? new OperationCanceledException("The runtime is stopping."));
            return ExecutionOutcome.Abandoned;
        }

        if (_run.Cursor.Divergence is null && error is null && !suspension.IsSuspended)
        {
            _run.Cursor.CheckNothingLeft();
        }

        if (_run.Cursor.Divergence is { } nd)
        {
            // The journal is left as it is: deploy code that replays it and the run can continue.
            var divergence = ErrorInfo.FromException(nd);
            await Children.ReportToParentAsync(RunStatus.Failed, null, _run.Seal(divergence)).ConfigureAwait(false);
            await journal.AppendAsync([], RunStatus.Failed, detail: nd.Message).ConfigureAwait(false);
            runtime.LogNonDeterminism(RunId, nd);
            Finished(RunStatus.Failed, null, divergence);
            return ExecutionOutcome.Finished;
        }

        if (suspension.IsSuspended && !(cancellation.CancelRequested && error is OperationCanceledException))
        {
            var (wakeAt, detail) = (suspension.WakeAt, suspension.Detail);
            await journal.AppendAsync([], RunStatus.Suspended, wakeAt, detail).ConfigureAwait(false);
            _span?.SetTag("durably.run.status", nameof(RunStatus.Suspended));
            runtime.Observe(o => o.OnRunSuspended(RunId, detail ?? "waiting", wakeAt));
            runtime.NoteWakeTime(wakeAt);

            // A signal that arrived after this run read its inbox would otherwise wait for the next poll.
            return await _run.Inbox.HasNewSignalsAsync(CancellationToken.None).ConfigureAwait(false) ? ExecutionOutcome.SuspendedWithNewSignals : ExecutionOutcome.Suspended;
        }

        if (cancellation.CancelRequested)
        {
            // A cancel that reached this activation while it ran (by the runtime's own client) was delivered after the inbox was
            // read: read it now, for its reason.
            await _run.Inbox.CancelArrivedAsync(CancellationToken.None).ConfigureAwait(false);

            // The run's children stop with it (and theirs with them), before its compensations run; also when the workflow
            // caught the cancellation and returned.
            await Children.CancelChildrenAsync(_run.Inbox.CancelReason(_run.Codec) ?? "cancelled").ConfigureAwait(false);
        }

        if (error is null)
        {
            await Children.ReportToParentAsync(RunStatus.Completed, result, null).ConfigureAwait(false);
            await journal.AppendAsync([new RunCompleted { Result = result }], RunStatus.Completed).ConfigureAwait(false);
            Finished(RunStatus.Completed, result, null);
            return ExecutionOutcome.Finished;
        }

        var cancelled = cancellation.CancelRequested && error is OperationCanceledException;
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
            await Children.ReportToParentAsync(RunStatus.Failed, null, _run.Seal(failure)).ConfigureAwait(false);
            await journal.AppendAsync([new RunFailed { Error = _run.Seal(failure) }], RunStatus.Failed).ConfigureAwait(false);
            Finished(RunStatus.Failed, null, failure);
            return ExecutionOutcome.Finished;
        }

        if (suspension.IsSuspended)
        {
            return await FinishAsync(null, error).ConfigureAwait(false);
        }

        var status = compensated ? RunStatus.Compensated : cancelled ? RunStatus.Cancelled : RunStatus.Failed;
        var reason = cancelled ? _run.Inbox.CancelReason(_run.Codec) : null;
        var reported = _run.Seal(cancelled ? new ErrorInfo(typeof(OperationCanceledException).FullName!, reason ?? "cancelled") : info);
        await Children.ReportToParentAsync(status, null, reported).ConfigureAwait(false);
        JournalEntry end = cancelled ? new RunCancelled { Reason = reason } : new RunFailed { Error = _run.Seal(info) };
        await journal.AppendAsync([end], status).ConfigureAwait(false);
        Finished(status, null, cancelled ? null : info);
        return ExecutionOutcome.Finished;
    }

    // Runs the registered compensations, last first, each as a journaled step; true if there were any.
    private async Task<bool> CompensateAsync()
    {
        var compensations = _run.Compensations.InReverse();
        _run.Cancellation.BeginCompensating();
        foreach (var (name, action) in compensations)
        {
            await Steps.StepAsync<bool>("compensate:" + name, async step =>
            {
                await action(step).ConfigureAwait(false);
                return true;
            }, new StepOptions { Kind = StepKind.Compensation }, forceJournal: true).ConfigureAwait(false);
        }

        return compensations.Count > 0;
    }

    private void Finished(RunStatus status, Payload? result, ErrorInfo? error)
    {
        DurablyTelemetry.RunFinished(_span, Started.Workflow, status, Started.Timestamp, _run.Time.GetUtcNow());
        Finish = new RunFinish(status, result);
        _run.Runtime.Observe(o => o.OnRunFinished(RunId, status, result, error));
    }

    private static int StableSeed(string text)
    {
        // FNV-1a: string.GetHashCode is randomized per process, and the seed must be the same on replay.
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)hash;
    }
}
