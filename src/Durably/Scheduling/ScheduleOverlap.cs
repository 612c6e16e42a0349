namespace Durably.Scheduling;

/// <summary>Says what a schedule does when a fire falls due while the run of its previous fire is unfinished.</summary>
public enum ScheduleOverlap
{
    /// <summary>The fire is skipped: no run starts for it. The default.</summary>
    Skip = 0,

    /// <summary>At most one fire waits: it starts as soon as the previous fire's run finishes; further fires while one waits are skipped.</summary>
    BufferOne = 1,

    /// <summary>Every fire starts its run, however many runs of the schedule are unfinished.</summary>
    AllowAll = 2,
}
