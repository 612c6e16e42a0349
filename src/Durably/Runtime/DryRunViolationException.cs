namespace Durably;

/// <summary>Thrown in a dry-run fork when an effect step has no recorded result in the source run to return: the source has no completed effect of that name at that step, or recorded it with other arguments.</summary>
public sealed class DryRunViolationException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public DryRunViolationException(RunId source, int step, string name)
        : base($"Effect step {step} '{name}' would run for real in a dry-run fork: the source run '{source}' has no recorded result for it (no completed effect '{name}' at step {step}, or one recorded with other arguments). Dry-run forks never call effect tools; fork at an earlier step or without --dry-run to run it.")
    {
        Step = step;
        StepName = name;
    }

    /// <summary>Gets the step number.</summary>
    public int Step { get; }

    /// <summary>Gets the step name.</summary>
    public string StepName { get; }
}
