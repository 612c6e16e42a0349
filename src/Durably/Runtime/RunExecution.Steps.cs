using System.Diagnostics;
using Durably.Journal;
using Durably.Storage;

namespace Durably;

internal sealed partial class RunExecution
{
    public async Task<T> StepAsync<T>(string name, Func<StepContext, Task<T>> body, StepOptions options, bool forceJournal)
    {
        ThrowIfStopped();
        var kind = options.Kind;
        var inDoubt = kind == StepKind.Effect ? ResolveInDoubtPolicy(name, options) : (InDoubtPolicy?)null;
        var step = Interlocked.Increment(ref _nextStep);
        var hash = options.Arguments is null ? null : HashArguments(Codec, options.Arguments);
        var record = Match(step, kind, name, hash);

        if (record?.Completed is { } done)
        {
            Replayed(step, kind, name, done.Attempt, done.Usage);
            RegisterCompensation(name, step, options);
            return Decode<T>(done.Result);
        }

        if (record is not null && record.FailedForGood)
        {
            Replayed(step, kind, name, record.LastFailure!.Attempt, null);
            throw new StepFailedException(name, step, UnsealError(record.LastFailure.Error));
        }

        ThrowIfCancelled();
        var attempt = record?.Attempts ?? 0;
        if (record?.LastFailure is { RetryAt: { } retryAt } && !record.InDoubt)
        {
            await WaitUntilAsync(retryAt, $"retry of step {step} '{name}'").ConfigureAwait(false);
        }

        if (kind == StepKind.Effect && record is { InDoubt: true })
        {
            var resolved = await ResolveInDoubtAsync<T>(step, name, record.Intent!, inDoubt!.Value, options).ConfigureAwait(false);
            if (resolved.Done)
            {
                RegisterCompensation(name, step, options);
                return resolved.Value!;
            }
        }

        if (ForkedOutcome(step, kind, name) is { } cached)
        {
            await AppendAsync(
            [
                new StepStarted { Step = step, Kind = kind, Name = name, IdempotencyKey = kind == StepKind.Effect ? StepContext.MakeIdempotencyKey(RunId, step) : null, ArgumentHash = hash, InDoubt = inDoubt },
                new StepCompleted { Step = step, Result = cached.Result, Usage = cached.Usage, ResolvedBy = (kind == StepKind.Model ? "fork-cache:" : "dry-run:") + Started.Fork!.Source.Value },
            ]).ConfigureAwait(false);
            Replayed(step, kind, name, 1, cached.Usage);
            RegisterCompensation(name, step, options);
            return Decode<T>(cached.Result);
        }

        var journal = kind == StepKind.Effect || forceJournal || JournalsUpFront(kind, options);
        var retry = options.Retry ?? _runtime.Options.DefaultRetry;
        while (true)
        {
            attempt++;
            var info = new StepInfo(step, kind, name, attempt);
            // Only effects record their idempotency key: for other steps it is derivable and would only add bytes.
            var intent = new StepStarted { Step = step, Kind = kind, Name = name, IdempotencyKey = kind == StepKind.Effect ? StepContext.MakeIdempotencyKey(RunId, step) : null, ArgumentHash = hash, Attempt = attempt, InDoubt = inDoubt };
            if (kind == StepKind.Effect)
            {
                // Intent before action: the effect's body runs only once its intent is durable.
                await AppendAsync([intent]).ConfigureAwait(false);
            }

            _runtime.Observe(o => o.OnStepStarting(RunId, info));
            using var activity = DurablyTelemetry.StartStep(RunId, info, replayed: false);
            var stepContext = NewStepContext(step, name, attempt);
            var started = Stopwatch.GetTimestamp();
            T result;
            try
            {
                result = await InvokeBodyAsync(body, stepContext).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not RunSuspendedException)
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
                if (!_compensating)
                {
                    _runCancellation.Token.ThrowIfCancellationRequested();
                }

                var canRetry = retry.CanRetry(ex, attempt);
                var next = canRetry ? Time.GetUtcNow() + retry.DelayAfter(attempt, System.Random.Shared) : (DateTimeOffset?)null;
                if (journal)
                {
                    var failed = new StepFailed { Step = step, Error = SealError(ex), Attempt = attempt, RetryAt = next, DurationMs = elapsed.TotalMilliseconds };
                    await AppendAsync(kind == StepKind.Effect ? [failed] : [intent, failed]).ConfigureAwait(false);
                }

                _runtime.Observe(o => o.OnStepCompleted(RunId, info, elapsed, null, failed: true));
                if (next is not { } due)
                {
                    throw new StepFailedException(name, step, ErrorInfo.FromException(ex), ex);
                }

                DurablyTelemetry.Retries.Add(1);
                await WaitUntilAsync(due, $"retry of step {step} '{name}'").ConfigureAwait(false);
                continue;
            }

            var duration = Stopwatch.GetElapsedTime(started);
            var usage = stepContext.ReportedUsage;
            var encoded = Encode(result);
            if (journal || JournalsAfter(kind, options, duration, usage))
            {
                var completed = new StepCompleted { Step = step, Result = encoded, Attempt = attempt, DurationMs = Math.Round(duration.TotalMilliseconds, 3), Usage = usage };
                await AppendAsync(kind == StepKind.Effect ? [completed] : [intent, completed]).ConfigureAwait(false);
            }

            DurablyTelemetry.StepsExecuted.Add(1);
            _runtime.Observe(o => o.OnStepCompleted(RunId, info, duration, usage, failed: false));
            RegisterCompensation(name, step, options);
            return result;
        }
    }

    // The body runs without the ambient RunContext, so durable calls made inside it are not journaled as nested
    // steps. The change stays inside this method: the caller's flow keeps its context.
    private static async Task<T> InvokeBodyAsync<T>(Func<StepContext, Task<T>> body, StepContext stepContext)
    {
        RunContext.EnterStepBody(stepContext.Name);
        return await body(stepContext).ConfigureAwait(false);
    }

    public async Task<T> PhaseAsync<T>(string name, Func<Task<T>> body, StepOptions options)
    {
        ThrowIfStopped();
        var step = Interlocked.Increment(ref _nextStep);
        var record = Match(step, StepKind.Phase, name);
        if (record?.Completed is { } done)
        {
            // Skip the step numbers the phase used inside, as it did when it ran.
            Interlocked.Add(ref _nextStep, done.Span ?? 0);
            Replayed(step, StepKind.Phase, name, done.Attempt, done.Usage);
            return Decode<T>(done.Result);
        }

        ThrowIfCancelled();
        var started = Stopwatch.GetTimestamp();
        var result = await body().ConfigureAwait(false);
        ThrowIfStopped();
        var span = Volatile.Read(ref _nextStep) - step;
        var duration = Stopwatch.GetElapsedTime(started);
        await AppendAsync(
        [
            new StepStarted { Step = step, Kind = StepKind.Phase, Name = name },
            new StepCompleted { Step = step, Result = Encode(result), DurationMs = Math.Round(duration.TotalMilliseconds, 3), Span = span },
        ]).ConfigureAwait(false);
        _runtime.Observe(o => o.OnStepCompleted(RunId, new StepInfo(step, StepKind.Phase, name, 1), duration, null, failed: false));
        _ = options;
        return result;
    }

    public DateTimeOffset RecordedUtcNow()
    {
        ThrowIfStopped();
        var step = Interlocked.Increment(ref _nextStep);
        if (Match(step, StepKind.Value, "utcnow")?.Completed is { Result: { } recorded })
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(Codec.Decode<long>(recorded));
        }

        ThrowIfCancelled();
        var now = Time.GetUtcNow();
        var ms = now.ToUnixTimeMilliseconds();

        // Not awaited: a value only matters through what the run does with it later, and every later
        // append of this run is ordered after this one, so it is durable before anything it enables.
        _ = AppendAsync(
        [
            new StepStarted { Step = step, Kind = StepKind.Value, Name = "utcnow" },
            new StepCompleted { Step = step, Result = Codec.Encode(ms) },
        ]);
        return DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }

    private InDoubtPolicy ResolveInDoubtPolicy(string name, StepOptions options)
    {
        if (options.InDoubt is { } explicitPolicy)
        {
            if (explicitPolicy == InDoubtPolicy.Reconcile && options.Reconcile is null)
            {
                throw new ArgumentException($"Effect step '{name}' has the in-doubt policy Reconcile but no Reconcile callback. Set StepOptions.Reconcile.", nameof(options));
            }

            return explicitPolicy;
        }

        return options.Idempotent switch
        {
            true => InDoubtPolicy.Retry,
            null => InDoubtPolicy.AskHuman,
            false => throw new ArgumentException($"Effect step '{name}' is marked non-idempotent but has no in-doubt policy. Set StepOptions.InDoubt to Reconcile, Fail or AskHuman: after a crash between its intent and its outcome, Durably cannot know whether it happened.", nameof(options)),
        };
    }

    private async Task<(bool Done, T? Value)> ResolveInDoubtAsync<T>(int step, string name, StepStarted intent, InDoubtPolicy policy, StepOptions options)
    {
        DurablyTelemetry.InDoubtResolutions.Add(1, new KeyValuePair<string, object?>("policy", policy.ToString()));
        _runtime.LogInDoubt(RunId, step, name, policy);
        switch (policy)
        {
            case InDoubtPolicy.Retry:
                return (false, default);

            case InDoubtPolicy.Reconcile:
                var reconciliation = await Task.Run(
                    () =>
                    {
                        RunContext.EnterStepBody(name);
                        return options.Reconcile!(NewStepContext(step, name, intent.Attempt));
                    },
                    CancellationToken.None).ConfigureAwait(false);
                if (!reconciliation.Happened)
                {
                    return (false, default);
                }

                var value = reconciliation.Result is T typed ? typed : Codec.Decode<T>(Codec.Encode(reconciliation.Result));
                await AppendAsync([new StepCompleted { Step = step, Result = Encode(value), Attempt = intent.Attempt, ResolvedBy = "reconcile" }]).ConfigureAwait(false);
                return (true, value);

            case InDoubtPolicy.Fail:
                var error = new InDoubtException(name, step);
                await AppendAsync([new StepFailed { Step = step, Error = SealError(error), Attempt = intent.Attempt }]).ConfigureAwait(false);
                throw new StepFailedException(name, step, ErrorInfo.FromException(error), error);

            default:
                var resolution = TakeSignal(SignalNames.Resolve(step));
                if (resolution is null)
                {
                    throw Suspend(null, $"in-doubt: step {step} '{name}' needs a person to resolve it (done, retry or abort)");
                }

                var payload = resolution.Payload is null ? null : Codec.Decode<ResolutionPayload>(resolution.Payload);
                switch (payload?.Action)
                {
                    case "done":
                        var result = payload.Result is { } json ? Codec.Encode(json) : null;
                        await AppendAsync([new StepCompleted { Step = step, Result = result, Attempt = intent.Attempt, ResolvedBy = resolution.Sender ?? "unknown" }]).ConfigureAwait(false);
                        return (true, Decode<T>(result));
                    case "retry":
                        return (false, default);
                    default:
                        var aborted = new ErrorInfo(typeof(InDoubtException).FullName!, $"Step {step} '{name}' was in doubt and {resolution.Sender ?? "an operator"} aborted it.");
                        await AppendAsync([new StepFailed { Step = step, Error = SealError(aborted), Attempt = intent.Attempt }]).ConfigureAwait(false);
                        throw new StepFailedException(name, step, aborted);
                }
        }
    }

    private bool JournalsUpFront(StepKind kind, StepOptions options)
        => (options.Checkpoint ?? Definition.Options.Checkpoint ?? _runtime.Options.Checkpoint) switch
        {
            CheckpointPolicy.EveryStep => true,
            CheckpointPolicy.PlanStep => false,
            CheckpointPolicy.DecisionPoint => kind == StepKind.Model,
            _ => kind != StepKind.Compute,
        };

    private bool JournalsAfter(StepKind kind, StepOptions options, TimeSpan duration, TokenUsage? usage)
        => (options.Checkpoint ?? Definition.Options.Checkpoint ?? _runtime.Options.Checkpoint) == CheckpointPolicy.Adaptive
           && kind == StepKind.Compute
           && (usage is { TotalTokens: > 0 } || duration > _runtime.AppendLatency * _runtime.Options.AdaptiveCostFactor);

    private void Replayed(int step, StepKind kind, string name, int attempt, TokenUsage? usage)
    {
        CountReplayed();
        DurablyTelemetry.StepsReplayed.Add(1);
        using var activity = DurablyTelemetry.StartStep(RunId, new StepInfo(step, kind, name, attempt), replayed: true);
        _runtime.Observe(o => o.OnStepReplayed(RunId, new StepInfo(step, kind, name, attempt), usage));
    }

    private void RegisterCompensation(string name, int step, StepOptions options)
    {
        if (options.Compensate is { } action)
        {
            lock (_stateGate)
            {
                _compensations.Add((name, step, action));
            }
        }
    }

    private async Task<bool> CompensateAsync()
    {
        List<(string Name, int Step, Func<StepContext, Task> Action)> compensations;
        lock (_stateGate)
        {
            compensations = [.. _compensations];
            compensations.Reverse();
        }

        _compensating = true;
        foreach (var (name, _, action) in compensations)
        {
            await StepAsync<bool>("compensate:" + name, async step =>
            {
                await action(step).ConfigureAwait(false);
                return true;
            }, new StepOptions { Kind = StepKind.Compensation }, forceJournal: true).ConfigureAwait(false);
        }

        return compensations.Count > 0;
    }

    private T Decode<T>(Payload? payload) => payload is null ? default! : Codec.Decode<T>(payload);

    private Payload? Encode<T>(T value) => value is null ? null : Codec.Encode(value);
}
