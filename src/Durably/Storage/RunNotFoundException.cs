namespace Durably.Storage;

/// <summary>Thrown when a run id names no run in the store.</summary>
public sealed class RunNotFoundException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public RunNotFoundException(RunId runId)
        : base($"No run with id '{runId}' exists in this store. Check the id and the store location.")
    {
        RunId = runId;
    }

    /// <summary>Gets the run id that was not found.</summary>
    public RunId RunId { get; }
}
