namespace Durably;

/// <summary>Asks <see cref="DurableClient.ForkAsync(ForkRequest, CancellationToken)"/> for a fork: a new run whose journal is the first steps of another, re-executing from the step after them.</summary>
/// <param name="Source">The run to fork.</param>
/// <param name="AtStep">Keep the source's steps 1 to this; the fork executes again from the next one. 0 keeps no step.</param>
public sealed record ForkRequest(RunId Source, int AtStep)
{
    /// <summary>Gets the new run's id; a new one when <see langword="null"/>.</summary>
    public RunId? NewRunId { get; init; }

    /// <summary>Gets a value indicating whether a model step beyond the fork point reuses the source run's recorded output for the same request instead of calling the model.</summary>
    /// <remarks>
    /// A model step is a cache hit only when the source run made the same request after the fork point: the same argument hash
    /// (for <c>DurableChatClient</c> the request's messages) and a recorded result its <see cref="StepOptions.CheckRecorded"/> accepts
    /// (for <c>DurableChatClient</c> the chat options: model id, tools, temperature, response format, ...), wherever in the source it
    /// was made. A changed prompt or model is sent to the model; each recorded answer is reused at most once. A model step without
    /// an argument hash (<see cref="StepOptions.Arguments"/> not given) is never a hit. A hit is journaled with
    /// <see cref="Journal.StepCompleted.ResolvedBy"/> <c>fork-cache:{source}</c>.
    /// </remarks>
    public bool ReuseModelOutputs { get; init; }

    /// <summary>Gets a value indicating whether effect steps return the source run's recorded results instead of running, and fail the run loudly where the source has none.</summary>
    /// <remarks>An effect's recorded result is returned only when the source completed an effect with the same step number, name and argument hash; otherwise the fork fails with a <see cref="DryRunViolationException"/> before the effect runs.</remarks>
    public bool DryRun { get; init; }
}
