using Durably.Journal;

namespace Durably;

// Decides what happens to an effect found in doubt at recovery (intent journaled, no outcome), by its policy: run it
// again, ask the reconcile callback, fail the step, or wait for a person's resolution.
internal sealed class InDoubtResolver(Activation run)
{
    // The policy an effect step declared, or the one its idempotency implies; refuses options that leave it undefined.
    public static InDoubtPolicy PolicyOf(string name, StepOptions options)
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

    // Returns (true, value) when the step's outcome is now journaled, (false, _) when the body is to run again.
    public async Task<(bool Done, T? Value)> ResolveAsync<T>(int step, string name, StepStarted intent, InDoubtPolicy policy, StepOptions options)
    {
        DurablyTelemetry.InDoubtResolutions.Add(1, new KeyValuePair<string, object?>("policy", policy.ToString()));
        run.Runtime.LogInDoubt(run.RunId, step, name, policy);
        switch (policy)
        {
            case InDoubtPolicy.Retry:
                return (false, default);

            case InDoubtPolicy.Reconcile:
                var reconciliation = await Task.Run(
                    () =>
                    {
                        RunContext.EnterStepBody(name);
                        return options.Reconcile!(run.NewStepContext(step, name, intent.Attempt));
                    },
                    CancellationToken.None).ConfigureAwait(false);
                if (!reconciliation.Happened)
                {
                    return (false, default);
                }

                var value = reconciliation.Result is T typed ? typed : run.Codec.Decode<T>(run.Codec.Encode(reconciliation.Result));
                await run.Journal.AppendAsync([new StepCompleted { Step = step, Result = run.Encode(value), Attempt = intent.Attempt, ResolvedBy = "reconcile" }]).ConfigureAwait(false);
                return (true, value);

            case InDoubtPolicy.Fail:
                var error = new InDoubtException(name, step);
                await run.Journal.AppendAsync([new StepFailed { Step = step, Error = run.Seal(ErrorInfo.FromException(error)), Attempt = intent.Attempt }]).ConfigureAwait(false);
                throw new StepFailedException(name, step, ErrorInfo.FromException(error), error);

            default:
                return await AskHumanAsync<T>(step, name, intent).ConfigureAwait(false);
        }
    }

    private async Task<(bool Done, T? Value)> AskHumanAsync<T>(int step, string name, StepStarted intent)
    {
        var resolution = run.Inbox.Take(SignalNames.Resolve(step));
        if (resolution is null)
        {
            throw run.Suspension.Suspend(null, $"in-doubt: step {step} '{name}' needs a person to resolve it (done, retry or abort)");
        }

        var payload = resolution.Payload is null ? null : run.Codec.Decode<ResolutionPayload>(resolution.Payload);
        switch (payload?.Action)
        {
            case "done":
                var result = payload.Result is { } json ? run.Codec.Encode(json) : null;
                await run.Journal.AppendAsync([new StepCompleted { Step = step, Result = result, Attempt = intent.Attempt, ResolvedBy = resolution.Sender ?? "unknown" }]).ConfigureAwait(false);
                return (true, run.Decode<T>(result));
            case "retry":
                return (false, default);
            default:
                var aborted = new ErrorInfo(typeof(InDoubtException).FullName!, $"Step {step} '{name}' was in doubt and {resolution.Sender ?? "an operator"} aborted it.");
                await run.Journal.AppendAsync([new StepFailed { Step = step, Error = run.Seal(aborted), Attempt = intent.Attempt }]).ConfigureAwait(false);
                throw new StepFailedException(name, step, aborted);
        }
    }
}
