namespace Durably;

/// <summary>Asks <see cref="DurableClient.ForkAsync(ForkRequest, CancellationToken)"/> for a fork: a new run whose journal is the first steps of another, re-executing from the step after them.</summary>
/// <param name="Source">The run to fork.</param>
/// <param name="AtStep">Keep the source's steps 1 to this; the fork executes again from the next one. 0 keeps no step.</param>
public sealed record ForkRequest(RunId Source, int AtStep)
{
    /// <summary>Gets the new run's id; a new one when <see langword="null"/>.</summary>
    public RunId? NewRunId { get; init; }

    /// <summary>Gets a value indicating whether model steps beyond the fork point reuse the source run's recorded outputs (matched by step number, kind and name) instead of calling the model.</summary>
    public bool ReuseModelOutputs { get; init; }

    /// <summary>Gets a value indicating whether effect steps return the source run's recorded results instead of running, and fail the run loudly where the source has none.</summary>
    public bool DryRun { get; init; }
}
