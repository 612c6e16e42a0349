using Durably.Journal;
using Durably.Scheduling;

namespace Durably.Storage;

/// <summary>Is a schedule as the store keeps it: what it starts and when (its spec), and how far it has got (its state).</summary>
/// <remarks>
/// <para>Records are written only through <see cref="IScheduleStore.SaveScheduleAsync"/>, conditionally on <see cref="Version"/>:
/// a worker that advances a schedule and a client that pauses it at the same time cannot overwrite each other; the one that
/// lost reads the record again.</para>
/// <para>The spec is <see cref="Workflow"/>, <see cref="Input"/>, <see cref="Cron"/> with <see cref="TimeZone"/> or
/// <see cref="Interval"/>, <see cref="Overlap"/> and <see cref="CatchUp"/>; the rest is state.</para>
/// </remarks>
public sealed record ScheduleRecord
{
    /// <summary>Gets the schedule's id (see <see cref="ScheduleDefinition.Id"/>).</summary>
    public required string ScheduleId { get; init; }

    /// <summary>Gets the name of the workflow each fire starts a run of.</summary>
    public required string Workflow { get; init; }

    /// <summary>Gets the input of every run, encoded with the runtime's codec; <see langword="null"/> for none.</summary>
    public Payload? Input { get; init; }

    /// <summary>Gets the cron expression (5 fields, or 6 with seconds first), or <see langword="null"/> for an interval schedule.</summary>
    public string? Cron { get; init; }

    /// <summary>Gets the time zone id the cron expression is read in (IANA or Windows id); <see langword="null"/> for UTC.</summary>
    public string? TimeZone { get; init; }

    /// <summary>Gets the interval of an interval schedule, or <see langword="null"/> for a cron schedule.</summary>
    public TimeSpan? Interval { get; init; }

    /// <summary>Gets what a fire does while the previous fire's run is unfinished.</summary>
    public ScheduleOverlap Overlap { get; init; }

    /// <summary>Gets what is done with fires missed while no worker ran the schedule.</summary>
    public CatchUpPolicy CatchUp { get; init; } = CatchUpPolicy.Last;

    /// <summary>Gets whether the schedule is paused: a paused schedule starts no runs (a manual trigger still does).</summary>
    public bool Paused { get; init; }

    /// <summary>Gets the time of the next fire, or <see langword="null"/> when the cron expression has no later occurrence.</summary>
    public DateTimeOffset? NextFireAt { get; init; }

    /// <summary>Gets the time of the last fire that started a run, or <see langword="null"/> before the first one.</summary>
    public DateTimeOffset? LastFireAt { get; init; }

    /// <summary>Gets the run started by the last fire (the run the overlap policy looks at), or <see langword="null"/> before the first one.</summary>
    public RunId? LastRunId { get; init; }

    /// <summary>Gets the time of the fire waiting under <see cref="ScheduleOverlap.BufferOne"/>, or <see langword="null"/> when none waits.</summary>
    public DateTimeOffset? BufferedFireAt { get; init; }

    /// <summary>Gets the number of manual fires (triggers) so far; trigger <c>n</c> starts the run <c>{id}@manual-{n}</c>.</summary>
    public long TriggerCount { get; init; }

    /// <summary>Gets the record's version: 0 for a record not yet stored, then 1, 2, ... for every save.</summary>
    public long Version { get; init; }

    /// <summary>Gets when the schedule was first stored.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Gets when the schedule was last saved.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Gets when a scheduler next needs to look at the schedule: the next fire, or now-ish when a buffered fire waits; <see langword="null"/> when paused or with no next fire.</summary>
    /// <remarks>Stores index this value so that <see cref="ScheduleQuery.DueBy"/> finds due schedules without reading the rest.</remarks>
    [System.Text.Json.Serialization.JsonIgnore]
    public DateTimeOffset? DueAt => Paused
        ? null
        : BufferedFireAt is { } buffered && (NextFireAt is null || buffered < NextFireAt) ? buffered : NextFireAt;
}
