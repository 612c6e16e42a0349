namespace Durably.Storage;

/// <summary>Says what a start on a queue did (<see cref="IRunQueueStore.StartQueuedRunAsync"/>).</summary>
/// <param name="RunId">The run started, or the existing run the start returned instead.</param>
/// <param name="Outcome">Whether the run was started, existed already, or was debounced.</param>
public sealed record QueuedStart(RunId RunId, QueuedStartOutcome Outcome)
{
    /// <summary>Gets the <see cref="QueuePlacement.DebounceSignal"/> as delivered to the earlier run, in the debounce's transaction; <see langword="null"/> when there was none to deliver or that run had finished.</summary>
    public DeliveredSignal? Signal { get; init; }
}

/// <summary>Says what a start on a queue did.</summary>
public enum QueuedStartOutcome
{
    /// <summary>The run was created, queued.</summary>
    Started = 0,

    /// <summary>A run with the requested id exists already; nothing was written.</summary>
    Existing = 1,

    /// <summary>A run of the same queue and key started within the debounce window; nothing was written and <see cref="QueuedStart.RunId"/> names that run.</summary>
    Debounced = 2,
}
