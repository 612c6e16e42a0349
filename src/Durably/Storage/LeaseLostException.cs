namespace Durably.Storage;

/// <summary>Thrown when a worker writes with a lease epoch that is no longer the run's: another worker took the run over.</summary>
/// <remarks>The worker must stop executing the run. Nothing of the refused write was stored.</remarks>
public sealed class LeaseLostException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public LeaseLostException(RunId runId, long heldEpoch, long currentEpoch)
        : base($"The lease on run '{runId}' was lost: this worker holds epoch {heldEpoch}, the run is now at epoch {currentEpoch}. Stop working on this run; another worker owns it.")
    {
        RunId = runId;
        HeldEpoch = heldEpoch;
        CurrentEpoch = currentEpoch;
    }

    /// <summary>Gets the run.</summary>
    public RunId RunId { get; }

    /// <summary>Gets the epoch the writer held.</summary>
    public long HeldEpoch { get; }

    /// <summary>Gets the run's current epoch.</summary>
    public long CurrentEpoch { get; }
}
