namespace Durably.Scheduling;

/// <summary>Describes a schedule: which workflow to start with which input, when (a cron expression or a fixed interval), and its overlap and catch-up policies.</summary>
/// <remarks>
/// <para>Give exactly one of <see cref="Cron"/> and <see cref="Interval"/>. Cron expressions are read by Cronos: 5 fields
/// (<c>minute hour day month weekday</c>) or 6 with seconds first (<c>*/10 * * * * *</c>: every 10 seconds), macros such as
/// <c>@hourly</c>, in <see cref="TimeZone"/> (UTC by default; daylight-saving gaps and overlaps are handled as Cronos does).
/// An interval schedule fires at whole multiples of <see cref="Interval"/> since 1970-01-01 00:00 UTC (every 15 minutes: at
/// :00, :15, :30 and :45), so every worker computes the same fire times.</para>
/// <para>Each fire starts one run whose id is <see cref="ScheduleRunIds.ForFire"/>: <c>{id}@{fire time, UTC, yyyyMMddTHHmmssZ}</c>.</para>
/// </remarks>
public sealed record ScheduleDefinition
{
    /// <summary>The longest schedule id accepted, in characters (so that a derived run id fits in <see cref="RunId.MaxLength"/>).</summary>
    public const int MaxIdLength = 100;

    /// <summary>Gets the schedule's id: 1 to <see cref="MaxIdLength"/> characters from <c>A-Z a-z 0-9 - _ . :</c>, starting with a letter or a digit.</summary>
    public required string Id { get; init; }

    /// <summary>Gets the registered name of the workflow each fire starts.</summary>
    public required string Workflow { get; init; }

    /// <summary>Gets the input of every run; encoded with the codec of the runtime or client that saves the schedule. <see langword="null"/> for none.</summary>
    public object? Input { get; init; }

    /// <summary>Gets the cron expression, or <see langword="null"/> for an interval schedule.</summary>
    public string? Cron { get; init; }

    /// <summary>Gets the time zone id (IANA such as <c>Europe/Oslo</c>, or Windows) the cron expression is read in; <see langword="null"/> for UTC.</summary>
    public string? TimeZone { get; init; }

    /// <summary>Gets the fixed interval, a whole number of seconds and at least one, or <see langword="null"/> for a cron schedule.</summary>
    public TimeSpan? Interval { get; init; }

    /// <summary>Gets what a fire does while the previous fire's run is unfinished. Default <see cref="ScheduleOverlap.Skip"/>.</summary>
    public ScheduleOverlap Overlap { get; init; } = ScheduleOverlap.Skip;

    /// <summary>Gets what is done with fires missed while no worker ran the schedule. Default <see cref="CatchUpPolicy.Last"/>.</summary>
    public CatchUpPolicy CatchUp { get; init; } = CatchUpPolicy.Last;

    /// <summary>Checks the definition: the id, the workflow name, exactly one of a readable cron expression (and known time zone) or a whole-second interval, and the policies.</summary>
    /// <exception cref="ArgumentException">Something is invalid; the message says what to change.</exception>
    public void Validate() => ScheduleSpecs.Check(this);

    /// <summary>Creates a cron schedule.</summary>
    /// <param name="id">The schedule's id.</param>
    /// <param name="workflow">The workflow each fire starts.</param>
    /// <param name="cron">The cron expression.</param>
    /// <param name="input">The runs' input.</param>
    public static ScheduleDefinition ForCron(string id, string workflow, string cron, object? input = null)
        => new() { Id = id, Workflow = workflow, Cron = cron, Input = input };

    /// <summary>Creates an interval schedule.</summary>
    /// <param name="id">The schedule's id.</param>
    /// <param name="workflow">The workflow each fire starts.</param>
    /// <param name="interval">The interval between fires.</param>
    /// <param name="input">The runs' input.</param>
    public static ScheduleDefinition Every(string id, string workflow, TimeSpan interval, object? input = null)
        => new() { Id = id, Workflow = workflow, Interval = interval, Input = input };
}
