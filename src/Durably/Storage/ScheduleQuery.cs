namespace Durably.Storage;

/// <summary>Selects schedules to list.</summary>
public sealed record ScheduleQuery
{
    /// <summary>Gets a time: only schedules with a <see cref="ScheduleRecord.DueAt"/> at or before it are listed. <see langword="null"/> (the default) lists all.</summary>
    public DateTimeOffset? DueBy { get; init; }

    /// <summary>Gets the most schedules returned, in id order. Default 1000.</summary>
    public int MaxCount { get; init; } = 1000;
}
