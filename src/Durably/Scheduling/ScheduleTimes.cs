using Cronos;

namespace Durably.Scheduling;

// When a schedule fires: a cron expression read in a time zone, or whole multiples of an interval since the Unix epoch.
internal sealed class ScheduleTimes
{
    private readonly CronExpression? _cron;
    private readonly TimeZoneInfo _zone;
    private readonly long _intervalMilliseconds;

    private ScheduleTimes(CronExpression? cron, TimeZoneInfo zone, long intervalMilliseconds)
    {
        _cron = cron;
        _zone = zone;
        _intervalMilliseconds = intervalMilliseconds;
    }

    // Checks the spec and says what is wrong with it in the terms of the schedule's definition.
    public static ScheduleTimes Create(string scheduleId, string? cron, string? timeZone, TimeSpan? interval)
    {
        if ((cron is null) == (interval is null))
        {
            throw new ArgumentException($"Schedule '{scheduleId}' must have exactly one of Cron and Interval (it has {(cron is null ? "neither" : "both")}). Set Cron to a cron expression such as \"0 2 * * *\", or Interval to a TimeSpan such as TimeSpan.FromMinutes(15).");
        }

        if (interval is { } every)
        {
            if (timeZone is not null)
            {
                throw new ArgumentException($"Schedule '{scheduleId}' has a TimeZone but no Cron expression: an interval schedule fires at multiples of its interval since 1970-01-01 UTC, whatever the zone. Remove TimeZone, or use a cron expression.");
            }

            if (every < TimeSpan.FromSeconds(1) || every.Ticks % TimeSpan.TicksPerSecond != 0)
            {
                throw new ArgumentException($"Schedule '{scheduleId}' has the interval {every}; an interval must be a whole number of seconds, at least one. Round it, or use a cron expression.");
            }

            return new ScheduleTimes(null, TimeZoneInfo.Utc, (long)every.TotalMilliseconds);
        }

        CronExpression expression;
        try
        {
            var fields = cron!.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length;
            expression = CronExpression.Parse(cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            throw new ArgumentException($"Schedule '{scheduleId}' has the cron expression '{cron}', which cannot be read: {ex.Message} Use 5 fields (minute hour day month weekday, such as \"0 2 * * *\") or 6 with seconds first (such as \"*/10 * * * * *\").", ex);
        }

        TimeZoneInfo zone;
        try
        {
            zone = timeZone is null ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ArgumentException($"Schedule '{scheduleId}' names the time zone '{timeZone}', which this machine does not know. Use an IANA id such as \"Europe/Oslo\" or \"America/New_York\", or leave TimeZone null for UTC.", ex);
        }

        return new ScheduleTimes(expression, zone, 0);
    }

    // The first fire strictly after `time`, or null when a cron expression has none.
    public DateTimeOffset? NextAfter(DateTimeOffset time)
    {
        if (_cron is null)
        {
            var ms = time.ToUnixTimeMilliseconds();
            return DateTimeOffset.FromUnixTimeMilliseconds(((Math.DivRem(ms, _intervalMilliseconds, out var rest) - (rest < 0 ? 1 : 0)) + 1) * _intervalMilliseconds);
        }

        return _cron.GetNextOccurrence(time, _zone, inclusive: false)?.ToUniversalTime();
    }
}
