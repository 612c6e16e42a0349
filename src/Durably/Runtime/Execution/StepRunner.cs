using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Durably.Codecs;
using Durably.Journal;
using Durably.Storage;

namespace Durably;

// Runs the durable calls that produce a value (steps, phases, the recorded clock): each either returns its journaled
// outcome or runs live, writing its intent before an effect's body and its outcome before the caller moves on.
internal sealed class StepRunner(Activation run)
{
    // The shortest heartbeat timeout a step may have: the lease is renewed every third of it.
    internal static readonly TimeSpan MinHeartbeatTimeout = TimeSpan.FromSeconds(1);

    // How long a body whose limit was hit may take to stop on its cancelled token before its attempt is abandoned.
    internal static readonly TimeSpan TimeoutGrace = TimeSpan.FromSeconds(1);

    private readonly InDoubtResolver _inDoubt = new(run);

    private DurableRuntime Runtime => run.Runtime;

    public async Task<T> StepAsync<T>(string name, Func<StepContext, Task<T>> body, StepOptions options, bool forceJournal)
    {
        run.ThrowIfStopped();
        CheckTimeouts(name, options);
        var kind = options.Kind;
        var inDoubt = kind == StepKind.Effect ? InDoubtResolver.PolicyOf(name, options) : (InDoubtPolicy?)null;
        var step = run.Cursor.Next();
        var hash = options.Arguments is null ? null : HashArguments(run.Codec, options.Arguments);
        var record = run.Cursor.Match(step, kind, name, hash);

        if (record?.Completion is { } done)
        {
            var replayed = run.Decode<T>(done.Result);
            if (options.CheckRecorded?.Invoke(replayed, StepReuse.Replay) is { } mismatch)
            {
                throw run.Cursor.Diverged(step, kind, name, mismatch);
            }

            run.Cursor.Replayed(new StepInfo(step, kind, name, done.Attempt), done.Usage, options.Telemetry, replayed);
            run.Compensations.Register(name, options);
            return replayed;
        }

        if (record is not null && record.FailedForGood)
        {
            run.Cursor.Replayed(new StepInfo(step, kind, name, record.LastFailure!.Attempt), null);
            throw new StepFailedException(name, step, record.LastFailure.Error.Unseal(run.Codec));
        }

        run.Cancellation.ThrowIfCancelled();
        var attempt = record?.Attempts ?? 0;
        if (record?.LastFailure is { RetryAt: { } retryAt } && !record.IsInDoubt)
        {
            await run.Suspension.WaitUntilAsync(retryAt, $"retry of step {step} '{name}'", run.Cancellation.Token).ConfigureAwait(false);
        }

        if (record is { IsInDoubt: true })
        {
            var resolved = await _inDoubt.ResolveAsync<T>(step, name, record.Intent!, inDoubt!.Value, options).ConfigureAwait(false);
            if (resolved.Done)
            {
                run.Compensations.Register(name, options);
                return resolved.Value!;
            }
        }

        if (run.Fork?.OutcomeFor(step, kind, name, hash, c => options.CheckRecorded?.Invoke(run.Decode<T>(c.Result), StepReuse.Fork) is null) is { } cached)
        {
            await run.Journal.AppendAsync(
            [
                new StepStarted { Step = step, Kind = kind, Name = name, IdempotencyKey = kind == StepKind.Effect ? StepContext.MakeIdempotencyKey(run.RunId, step) : null, ArgumentHash = hash, InDoubt = inDoubt },
                new StepCompleted { Step = step, Result = cached.Result, Usage = cached.Usage, ResolvedBy = (kind == StepKind.Model ? StepCompleted.ForkCachePrefix : "dry-run:") + run.Fork.SourceRun },
            ]).ConfigureAwait(false);
            var reused = run.Decode<T>(cached.Result);
            run.Cursor.Replayed(new StepInfo(step, kind, name, 1), cached.Usage, options.Telemetry, reused);
            run.Compensations.Register(name, options);
            return reused;
        }

        var journal = kind == StepKind.Effect || forceJournal || JournalsUpFront(kind, options);
        var retry = options.Retry ?? Runtime.Options.DefaultRetry;
        while (true)
        {
            attempt++;
            var info = new StepInfo(step, kind, name, attempt);
            // Only effects record their idempotency key: for other steps it is derivable and would only add bytes.
            var intent = new StepStarted { Step = step, Kind = kind, Name = name, IdempotencyKey = kind == StepKind.Effect ? StepContext.MakeIdempotencyKey(run.RunId, step) : null, ArgumentHash = hash, Attempt = attempt, InDoubt = inDoubt };
            if (kind == StepKind.Effect)
            {
                // Intent before action: the effect's body runs only once its intent is durable.
                await run.Journal.AppendAsync([intent]).ConfigureAwait(false);
            }

            Runtime.Observe(static (o, s) => o.OnStepStarting(s.RunId, s.info), (run.RunId, info));
            using var activity = DurablyTelemetry.StartStep(run.RunId, info, replayed: false, options.Telemetry);
            var watch = StepAttemptWatch.For(options, run.Time, run.Cancellation.StepToken);
            var stepContext = run.NewStepContext(step, name, attempt, watch);
            if (journal)
            {
                stepContext.EnableProgress(run, intent, intentJournaled: kind == StepKind.Effect);
            }

            var started = Stopwatch.GetTimestamp();
            T result;
            try
            {
                result = watch is null
                    ? await InvokeBodyAsync(body, stepContext).ConfigureAwait(false)
                    : await InvokeWatchedAsync(body, stepContext, watch).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not RunSuspendedException)
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                DurablyTelemetry.StepFailed(activity, ex, options.Telemetry);
                run.Cancellation.ThrowIfCancelled();
                var canRetry = retry.CanRetry(ex, attempt);
                var next = canRetry ? run.Time.GetUtcNow() + retry.DelayAfter(attempt, Random.Shared) : (DateTimeOffset?)null;
                if (journal)
                {
                    var failed = new StepFailed { Step = step, Error = run.Seal(ErrorInfo.FromException(ex)), Attempt = attempt, RetryAt = next, DurationMs = elapsed.TotalMilliseconds };
                    await run.Journal.AppendAsync(OutcomeEntries(kind, intent, failed, stepContext)).ConfigureAwait(false);
                }

                Runtime.Observe(static (o, s) => o.OnStepCompleted(s.RunId, s.info, s.elapsed, null, failed: true), (run.RunId, info, elapsed));
                if (next is not { } due)
                {
                    throw new StepFailedException(name, step, ErrorInfo.FromException(ex), ex);
                }

                DurablyTelemetry.Retries.Add(1);
                await run.Suspension.WaitUntilAsync(due, $"retry of step {step} '{name}'", run.Cancellation.Token).ConfigureAwait(false);
                continue;
            }

            var duration = Stopwatch.GetElapsedTime(started);
            var usage = stepContext.ReportedUsage;
            var encoded = run.Encode(result);
            if (journal || JournalsAfter(kind, options, duration, usage))
            {
                var completed = new StepCompleted { Step = step, Result = encoded, Attempt = attempt, DurationMs = Math.Round(duration.TotalMilliseconds, 3), Usage = usage };
                await run.Journal.AppendAsync(OutcomeEntries(kind, intent, completed, stepContext)).ConfigureAwait(false);
            }

            DurablyTelemetry.StepExecuted(activity, info, options.Telemetry, result, usage);
            Runtime.Observe(static (o, s) => o.OnStepCompleted(s.RunId, s.info, s.duration, s.usage, failed: false), (run.RunId, info, duration, usage));
            run.Compensations.Register(name, options);
            return result;
        }
    }

    public async Task<T> PhaseAsync<T>(string name, Func<Task<T>> body)
    {
        run.ThrowIfStopped();
        var step = run.Cursor.Next();
        var record = run.Cursor.Match(step, StepKind.Phase, name);
        if (record?.Completion is { } done)
        {
            // Skip the step numbers the phase used inside, as it did when it ran.
            run.Cursor.Skip(done.Span ?? 0);
            run.Cursor.Replayed(new StepInfo(step, StepKind.Phase, name, done.Attempt), done.Usage);
            return run.Decode<T>(done.Result);
        }

        run.Cancellation.ThrowIfCancelled();
        var started = Stopwatch.GetTimestamp();
        var result = await body().ConfigureAwait(false);
        run.ThrowIfStopped();
        var span = run.Cursor.Position - step;
        var duration = Stopwatch.GetElapsedTime(started);
        await run.Journal.AppendAsync(
        [
            new StepStarted { Step = step, Kind = StepKind.Phase, Name = name },
            new StepCompleted { Step = step, Result = run.Encode(result), DurationMs = Math.Round(duration.TotalMilliseconds, 3), Span = span },
        ]).ConfigureAwait(false);
        Runtime.Observe(o => o.OnStepCompleted(run.RunId, new StepInfo(step, StepKind.Phase, name, 1), duration, null, failed: false));
        return result;
    }

    public DateTimeOffset RecordedUtcNow()
    {
        run.ThrowIfStopped();
        var step = run.Cursor.Next();
        if (run.Cursor.Match(step, StepKind.Value, "utcnow")?.Completion is { Result: { } recorded })
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(run.Codec.Decode<long>(recorded));
        }

        run.Cancellation.ThrowIfCancelled();
        var ms = run.Time.GetUtcNow().ToUnixTimeMilliseconds();

        // Not awaited: a value only matters through what the run does with it later, and every later
        // append of this run is ordered after this one, so it is durable before anything it enables.
        _ = run.Journal.AppendAsync(
        [
            new StepStarted { Step = step, Kind = StepKind.Value, Name = "utcnow" },
            new StepCompleted { Step = step, Result = run.Codec.Encode(ms) },
        ]);
        return DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }

    internal static string HashArguments(IPayloadCodec codec, object arguments)
    {
        // The hash is of the JSON, not of the codec's output: an encrypting codec's output differs on every call,
        // and switching a codec on must not make journals written before it look non-deterministic.
        var payload = codec.Encode(arguments);
        var json = payload.IsJson ? payload.Data.Span : JsonMarshal.GetRawUtf8Value(codec.Decode<JsonElement>(payload));
        return Convert.ToHexStringLower(SHA256.HashData(json))[..16];
    }

    // An outcome follows the step's intent, which effects and steps that reported progress journaled already, and the
    // progress not yet journaled (in the same write: no extra sync).
    private static IReadOnlyList<JournalEntry> OutcomeEntries(StepKind kind, StepStarted intent, JournalEntry outcome, StepContext stepContext)
    {
        if (stepContext.CloseProgress() is not { } progress)
        {
            return kind == StepKind.Effect ? [outcome] : [intent, outcome];
        }

        var (tail, intentJournaled) = progress.Close();
        return (intentJournaled, tail) switch
        {
            (false, _) => [intent, outcome],
            (true, null) => [outcome],
            (true, { } rest) => [rest, outcome],
        };
    }

    // The body runs without the ambient RunContext, so durable calls made inside it are not journaled as nested
    // steps. The change stays inside this method: the caller's flow keeps its context.
    private static async Task<T> InvokeBodyAsync<T>(Func<StepContext, Task<T>> body, StepContext stepContext)
    {
        RunContext.EnterStepBody(stepContext.Name);
        return await body(stepContext).ConfigureAwait(false);
    }

    // A step with timeouts: the body runs on the thread pool (so a body that blocks cannot hold the workflow's flow), and the
    // lease follows its heartbeat timeout while it runs. Once a limit is hit, its token is cancelled and the attempt fails as
    // soon as the body stops, or after TimeoutGrace whether or not it has: a body that ignores its token is abandoned, and its
    // outcome, when it comes, discarded. A body that returns a result in the grace (it had finished, or stops cleanly) succeeds.
    private async Task<T> InvokeWatchedAsync<T>(Func<StepContext, Task<T>> body, StepContext stepContext, StepAttemptWatch watch)
    {
        var heartbeat = watch.HeartbeatTimeout;
        if (heartbeat.HasValue)
        {
            run.Heartbeats.Enter(heartbeat.Value);
        }

        var running = Task.Run(() => InvokeBodyAsync(body, stepContext), CancellationToken.None);
        var abandoned = false;
        try
        {
            await Task.WhenAny(running, watch.Expired).ConfigureAwait(false);
            if (!running.IsCompleted)
            {
                // A body that honours its cancelled token ends its own attempt (it may even return what it has); one that does not
                // is given up on after the grace.
                using var grace = new CancellationTokenSource();
                await Task.WhenAny(running, Task.Delay(TimeoutGrace, run.Time, grace.Token)).ConfigureAwait(false);
                await grace.CancelAsync().ConfigureAwait(false);
            }

            if (running.IsCompletedSuccessfully)
            {
                return running.Result;
            }

            if (watch.ExpiredBy is not null)
            {
                abandoned = !running.IsCompleted;
                if (abandoned)
                {
                    // Its late outcome is discarded: an error is observed here so that it is not reported as unobserved.
                    _ = running.ContinueWith(
                        static (t, w) =>
                        {
                            _ = t.Exception;
                            ((StepAttemptWatch)w!).Dispose();
                        },
                        watch,
                        CancellationToken.None,
                        TaskContinuationOptions.ExecuteSynchronously,
                        TaskScheduler.Default);
                }

                throw watch.ToException(stepContext.Name, stepContext.Step, stepContext.Attempt);
            }

            return await running.ConfigureAwait(false);
        }
        finally
        {
            if (heartbeat.HasValue)
            {
                run.Heartbeats.Leave(heartbeat.Value);
            }

            if (!abandoned)
            {
                watch.Dispose();
            }
        }
    }

    private static void CheckTimeouts(string name, StepOptions options)
    {
        if (options.StartToCloseTimeout is { } startToClose && startToClose <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), startToClose, $"Step '{name}' has a StartToCloseTimeout of {startToClose}; it must be positive (or null for no limit).");
        }

        if (options.HeartbeatTimeout is { } heartbeat && heartbeat < MinHeartbeatTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(options), heartbeat, $"Step '{name}' has a HeartbeatTimeout of {heartbeat}; it must be at least {MinHeartbeatTimeout} (the worker renews the run's lease every third of it), or null for no heartbeat.");
        }
    }

    private CheckpointPolicy Checkpoint(StepOptions options) => options.Checkpoint ?? run.Definition.Options.Checkpoint ?? Runtime.Options.Checkpoint;

    private bool JournalsUpFront(StepKind kind, StepOptions options) => Checkpoint(options) switch
    {
        CheckpointPolicy.EveryStep => true,
        CheckpointPolicy.PlanStep => false,
        CheckpointPolicy.DecisionPoint => kind == StepKind.Model,
        _ => kind != StepKind.Compute,
    };

    private bool JournalsAfter(StepKind kind, StepOptions options, TimeSpan duration, TokenUsage? usage)
        => Checkpoint(options) == CheckpointPolicy.Adaptive
           && kind == StepKind.Compute
           && (usage is { TotalTokens: > 0 } || duration > Runtime.AppendLatency * Runtime.Options.AdaptiveCostFactor);
}
