namespace Durably.Scheduling;

/// <summary>Says which missed fires a schedule starts after its workers were down (or the schedule was blocked) past their time.</summary>
/// <remarks>
/// <para>A fire that a worker sees within <see cref="Grace"/> of its time is on time and starts (subject to the
/// <see cref="ScheduleOverlap"/> policy). A fire seen later than that is missed: <see cref="Mode"/> decides whether it starts.
/// Fires that fell due while a schedule was paused are never started: resuming continues with the next fire after the resume.</para>
/// </remarks>
public sealed record CatchUpPolicy
{
    /// <summary>The longest <see cref="Grace"/> accepted: one day.</summary>
    public static readonly TimeSpan MaxGrace = TimeSpan.FromDays(1);

    /// <summary>Gets a policy that skips missed fires.</summary>
    public static CatchUpPolicy None { get; } = new() { Mode = CatchUpMode.None };

    /// <summary>Gets a policy that starts only the latest missed fire. The default of a schedule.</summary>
    public static CatchUpPolicy Last { get; } = new() { Mode = CatchUpMode.Last };

    /// <summary>Gets what is done with missed fires. Default <see cref="CatchUpMode.Last"/>.</summary>
    public CatchUpMode Mode { get; init; } = CatchUpMode.Last;

    /// <summary>Gets the most missed fires started under <see cref="CatchUpMode.All"/> (the latest ones). Default 10.</summary>
    public int MaxFires { get; init; } = 10;

    /// <summary>Gets how late a fire may be seen and still count as on time. Default 1 minute.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Returns a policy that starts the latest <paramref name="maxFires"/> missed fires, oldest first.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFires"/> is less than 1.</exception>
    public static CatchUpPolicy All(int maxFires)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFires, 1);
        return new() { Mode = CatchUpMode.All, MaxFires = maxFires };
    }
}
