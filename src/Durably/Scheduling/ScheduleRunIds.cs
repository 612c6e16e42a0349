using System.Globalization;

namespace Durably.Scheduling;

/// <summary>Derives the run ids schedules start, so that a fire or a trigger starts its run once however many workers try.</summary>
public static class ScheduleRunIds
{
    private const string FireTimeFormat = "yyyyMMdd'T'HHmmss'Z'";

    /// <summary>Returns the id of the run that the fire of <paramref name="scheduleId"/> at <paramref name="fireTime"/> starts: <c>{schedule id}@{fire time in UTC as yyyyMMddTHHmmssZ}</c>.</summary>
    /// <remarks>For example <c>nightly-report@20261203T020000Z</c>. Fire times are whole seconds.</remarks>
    public static RunId ForFire(string scheduleId, DateTimeOffset fireTime)
        => new(scheduleId + "@" + fireTime.UtcDateTime.ToString(FireTimeFormat, CultureInfo.InvariantCulture));

    /// <summary>Returns the id of the run that manual trigger number <paramref name="trigger"/> of <paramref name="scheduleId"/> starts: <c>{schedule id}@manual-{trigger}</c>.</summary>
    public static RunId ForTrigger(string scheduleId, long trigger)
        => new(scheduleId + "@manual-" + trigger.ToString(CultureInfo.InvariantCulture));

    /// <summary>Reads the schedule id and fire time back from a run id made by <see cref="ForFire"/>.</summary>
    /// <returns><see langword="true"/> when <paramref name="runId"/> is a scheduled fire's id.</returns>
    public static bool TryParseFire(RunId runId, out string scheduleId, out DateTimeOffset fireTime)
    {
        var text = runId.Value;
        var at = text.LastIndexOf('@');
        if (at > 0 && DateTime.TryParseExact(text.AsSpan(at + 1), FireTimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
        {
            scheduleId = text[..at];
            fireTime = new DateTimeOffset(time, TimeSpan.Zero);
            return true;
        }

        scheduleId = string.Empty;
        fireTime = default;
        return false;
    }
}
