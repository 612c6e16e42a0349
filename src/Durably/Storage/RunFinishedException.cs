namespace Durably.Storage;

/// <summary>Thrown when an operation needs an unfinished run and the run has finished.</summary>
public sealed class RunFinishedException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public RunFinishedException(RunId runId, RunStatus status)
        : base($"Run '{runId}' has finished with status {status}; it accepts no more signals or changes.")
    {
        RunId = runId;
        Status = status;
    }

    /// <summary>Gets the run.</summary>
    public RunId RunId { get; }

    /// <summary>Gets the run's final status.</summary>
    public RunStatus Status { get; }
}
