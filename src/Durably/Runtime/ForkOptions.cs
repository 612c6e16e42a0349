namespace Durably;

/// <summary>Configures a fork: a new run whose journal is the first steps of another, re-executing from the step after them.</summary>
public sealed record ForkOptions
{
    /// <summary>Gets the new run's id; a new one when <see langword="null"/>.</summary>
    public RunId? NewRunId { get; init; }

    /// <summary>Gets a value indicating whether model steps beyond the fork point reuse the source run's recorded outputs (matched by step number, kind and name) instead of calling the model.</summary>
    public bool ReuseModelOutputs { get; init; }

    /// <summary>Gets a value indicating whether effect steps return the source run's recorded results instead of running, and fail the run loudly where the source has none.</summary>
    public bool DryRun { get; init; }
}

/// <summary>Thrown in a dry-run fork when an effect step has no recorded result in the source run to return.</summary>
public sealed class DryRunViolationException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public DryRunViolationException(RunId source, int step, string name)
        : base($"Effect step {step} '{name}' would run for real in a dry-run fork: the source run '{source}' has no recorded result for it. Dry-run forks never call effect tools.")
    {
        Step = step;
        StepName = name;
    }

    /// <summary>Gets the step number.</summary>
    public int Step { get; }

    /// <summary>Gets the step name.</summary>
    public string StepName { get; }
}
