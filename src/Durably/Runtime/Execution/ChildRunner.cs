using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Durably.Journal;
using Durably.Storage;

namespace Durably;

// Runs child runs: a parent's step journals which child it starts (intent first), starts it once (its id is derived from
// the parent's id and the step, so a second start finds the first), suspends until the child reports, and journals the
// child's outcome as its own. A run that is a child reports its outcome to its parent's step before it records its end, and
// a cancelled run cancels the children it still waits for. Thread-safe: children may be started in parallel.
internal sealed class ChildRunner(Activation run)
{
    // The children this run has started and not yet journaled an outcome for, by step.
    private readonly ConcurrentDictionary<int, RunId> _open = new(OpenChildren(run));

    public async Task<TResult> RunChildAsync<TInput, TResult>(WorkflowDefinition child, TInput input, string name)
    {
        // Not stopped by a suspension: children issued together (Task.WhenAll) all start in this activation, even after the
        // first of them suspended the run.
        run.ThrowIfBroken();
        var step = run.Cursor.Next();
        var encoded = run.Encode(input);
        var hash = input is null ? null : StepRunner.HashArguments(run.Codec, input);
        var record = run.Cursor.Match(step, StepKind.Child, name, hash);
        var childId = RunId.ForChild(run.RunId, step);
        var info = new StepInfo(step, StepKind.Child, name, 1);
        if (record?.Completion is { } done)
        {
            run.Cursor.Replayed(info, null);
            return run.Decode<TResult>(done.Result);
        }

        if (record is { FailedForGood: true })
        {
            run.Cursor.Replayed(info, null);
            throw Failed(name, step, childId, record.LastFailure!);
        }

        run.Cancellation.ThrowIfCancelled();
        var intentAt = record?.Intent?.Timestamp;
        if (record?.Intent?.ChildRunId != childId)
        {
            // Intent before action: the child is started only once the parent's journal says which run it waits for. (A
            // forked run's journal may name the source's child here; the fork starts its own.)
            intentAt = run.Time.GetUtcNow();
            await run.Journal.AppendAsync([new StepStarted { Step = step, Kind = StepKind.Child, Name = name, ArgumentHash = hash, ChildRunId = childId }]).ConfigureAwait(false);
            _open[step] = childId;
            Runtime.Observe(o => o.OnStepStarting(run.RunId, info));
            await StartAsync(child, childId, encoded, step).ConfigureAwait(false);
        }
        else if (run.Inbox.Take(SignalNames.Child(step)) is { } report)
        {
            return await RecordAsync<TResult>(info, childId, report, intentAt).ConfigureAwait(false);
        }
        else if (await StoreAsync(() => Runtime.Store.GetRunAsync(childId)).ConfigureAwait(false) is null
                 && !await StoreAsync(() => run.Inbox.HasNewSignalsAsync(CancellationToken.None)).ConfigureAwait(false))
        {
            // The parent stopped between its intent and the child's start. (A child that reported since this activation read
            // its inbox may be purged already: then the run suspends, and its next activation reads the report.)
            await StartAsync(child, childId, encoded, step).ConfigureAwait(false);
        }

        throw run.Suspension.Suspend(null, $"child: step {step} waits for run '{childId}'");
    }

    // Reports this run's outcome to the parent's step that started it, before the run records its end: a crash in between
    // leaves the run unfinished, so its recovery reports again, and the parent, which takes one report, ignores the second.
    public async Task ReportToParentAsync(RunStatus status, Payload? result, ErrorInfo? error)
    {
        if (run.History.Started is not { ParentRunId: { } parent, ParentStep: { } step })
        {
            return;
        }

        var outcome = new ChildOutcome(status, result, error);
        try
        {
            await DeliverAsync(parent, step, outcome).ConfigureAwait(false);
        }
        catch (PayloadTooLargeException ex)
        {
            var tooLarge = new ErrorInfo(typeof(PayloadTooLargeException).FullName!, $"Child run '{run.RunId}' ended {status.ToString().ToLowerInvariant()}, and its outcome is too large to report to its parent: {ex.Message}");
            await DeliverAsync(parent, step, new ChildOutcome(RunStatus.Failed, null, run.Seal(tooLarge))).ConfigureAwait(false);
        }
    }

    // Cancels the children the run still waits for (and, through their own cancellation, theirs), before it records that it
    // was cancelled; a crash in between cancels them again at the run's recovery.
    public async Task CancelChildrenAsync(string reason)
    {
        foreach (var (_, childId) in _open.OrderBy(c => c.Key))
        {
            try
            {
                await Runtime.Client.CancelAsync(new CancelRequest(childId) { Reason = $"parent run '{run.RunId}' was cancelled: {reason}" }).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RunFinishedException or RunNotFoundException)
            {
                // Finished already, or never started (the parent stopped between its intent and the child's start).
            }
        }
    }

    private DurableRuntime Runtime => run.Runtime;

    private static IEnumerable<KeyValuePair<int, RunId>> OpenChildren(Activation run)
        => run.History.Steps
            .Where(s => s.Kind == StepKind.Child && !s.HasOutcome && s.Intent?.ChildRunId == RunId.ForChild(run.RunId, s.Step))
            .Select(s => KeyValuePair.Create(s.Step, RunId.ForChild(run.RunId, s.Step)));

    private Task StartAsync(WorkflowDefinition child, RunId childId, Payload? input, int step)
        => StoreAsync(() => Runtime.Client.StartChildAsync(childId, child, input, run.RunId, step));

    // A store failure while the intent is durable and the child may not be stops the activation, as a failed journal write
    // does, so that the run is tried again (and starts or finds the child then) when its lease expires, instead of failing.
    private async Task<T> StoreAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (JournalStoreException)
        {
            run.Cancellation.Abort();
            throw;
        }
    }

    private async Task<TResult> RecordAsync<TResult>(StepInfo info, RunId childId, DeliveredSignal report, DateTimeOffset? intentAt)
    {
        var outcome = report.Payload?.ToValue(DurablyJsonContext.Default.ChildOutcome)
            ?? throw new JournalFormatException($"The report of child run '{childId}' to step {info.Step} of run '{run.RunId}' holds no outcome.");
        var elapsed = intentAt is { } at ? run.Time.GetUtcNow() - at : TimeSpan.Zero;
        var ms = Math.Round(Math.Max(0, elapsed.TotalMilliseconds), 3);
        if (outcome.Status == RunStatus.Completed)
        {
            await run.Journal.AppendAsync([new StepCompleted { Step = info.Step, Result = outcome.Result, DurationMs = ms }]).ConfigureAwait(false);
            _open.TryRemove(info.Step, out _);
            Runtime.Observe(o => o.OnStepCompleted(run.RunId, info, elapsed, null, failed: false));
            return run.Decode<TResult>(outcome.Result);
        }

        var error = outcome.Error ?? new ErrorInfo(typeof(DurablyException).FullName!, $"The child run ended {outcome.Status.ToString().ToLowerInvariant()}.");
        var failed = new StepFailed { Step = info.Step, Error = error, ChildStatus = outcome.Status, DurationMs = ms };
        await run.Journal.AppendAsync([failed]).ConfigureAwait(false);
        _open.TryRemove(info.Step, out _);
        Runtime.Observe(o => o.OnStepCompleted(run.RunId, info, elapsed, null, failed: true));
        throw Failed(info.Name, info.Step, childId, failed);
    }

    private Task DeliverAsync(RunId parent, int step, ChildOutcome outcome)
    {
        var payload = Payload.FromJson(JsonSerializer.SerializeToUtf8Bytes(outcome, DurablyJsonContext.Default.ChildOutcome));
        return DeliverQuietlyAsync(parent, new SignalMessage(SignalNames.Child(step), payload, run.RunId.Value));
    }

    private async Task DeliverQuietlyAsync(RunId parent, SignalMessage report)
    {
        try
        {
            await Runtime.Client.DeliverAsync(parent, report, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RunFinishedException or RunNotFoundException)
        {
            // The parent has ended (it was cancelled, say) or was purged: nobody waits for this outcome any more.
        }
    }

    private ChildRunFailedException Failed(string name, int step, RunId childId, StepFailed failure)
        => new(name, step, childId, failure.ChildStatus ?? RunStatus.Failed, failure.Error.Unseal(run.Codec));
}

// What a child reports to its parent. The result is encoded and the error sealed by the child's codec already, so the
// report itself is plain JSON: the parent journals both as they are.
internal sealed record ChildOutcome(
    [property: JsonPropertyName("status"), JsonConverter(typeof(JsonStringEnumConverter<RunStatus>))] RunStatus Status,
    [property: JsonPropertyName("result")] Payload? Result,
    [property: JsonPropertyName("error")] ErrorInfo? Error);
