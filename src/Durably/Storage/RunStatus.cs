using System.Text.Json.Serialization;

namespace Durably.Storage;

/// <summary>Says where a run is in its life.</summary>
/// <remarks>Journaled as lowercase names (the outcome of a child step records how the child ended); stores index it by number.</remarks>
public enum RunStatus
{
    /// <summary>Created and waiting for a worker to pick it up.</summary>
    [JsonStringEnumMemberName("pending")]
    Pending = 0,

    /// <summary>Being executed (or was, by a worker that may have crashed; recovery resumes it).</summary>
    [JsonStringEnumMemberName("running")]
    Running = 1,

    /// <summary>Unloaded while it waits for a signal, a timer, an approval or a person resolving an in-doubt step.</summary>
    [JsonStringEnumMemberName("suspended")]
    Suspended = 2,

    /// <summary>Finished with a result.</summary>
    [JsonStringEnumMemberName("completed")]
    Completed = 3,

    /// <summary>Finished with an error.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed = 4,

    /// <summary>Cancelled by a caller.</summary>
    [JsonStringEnumMemberName("cancelled")]
    Cancelled = 5,

    /// <summary>Failed or cancelled, and its registered compensations have run.</summary>
    [JsonStringEnumMemberName("compensated")]
    Compensated = 6,
}

/// <summary>Helpers for <see cref="RunStatus"/>.</summary>
public static class RunStatusExtensions
{
    /// <summary>Returns whether the run has finished and will not change again.</summary>
    public static bool IsFinished(this RunStatus status) => status >= RunStatus.Completed;
}
