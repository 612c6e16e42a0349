namespace Durably.Storage;

/// <summary>Says where a run is in its life.</summary>
public enum RunStatus
{
    /// <summary>Created and waiting for a worker to pick it up.</summary>
    Pending = 0,

    /// <summary>Being executed (or was, by a worker that may have crashed; recovery resumes it).</summary>
    Running = 1,

    /// <summary>Unloaded while it waits for a signal, a timer, an approval or a person resolving an in-doubt step.</summary>
    Suspended = 2,

    /// <summary>Finished with a result.</summary>
    Completed = 3,

    /// <summary>Finished with an error.</summary>
    Failed = 4,

    /// <summary>Cancelled by a caller.</summary>
    Cancelled = 5,

    /// <summary>Failed or cancelled, and its registered compensations have run.</summary>
    Compensated = 6,
}

/// <summary>Helpers for <see cref="RunStatus"/>.</summary>
public static class RunStatusExtensions
{
    /// <summary>Returns whether the run has finished and will not change again.</summary>
    public static bool IsFinished(this RunStatus status) => status >= RunStatus.Completed;
}
