using Durably.Scheduling;
using Microsoft.Extensions.Logging;

namespace Durably;

// The scheduler's log messages (event ids 1400 to 1499).
internal static partial class Log
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Error, Message = "The scheduler could not look at the due schedules; retrying in {Backoff}")]
    public static partial void ScheduleFailed(ILogger logger, TimeSpan backoff, Exception exception);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Schedule {ScheduleId} could not fire")]
    public static partial void ScheduleFireFailed(ILogger logger, string scheduleId, Exception exception);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Schedule {ScheduleId} fired for {FireTime:o}: started run {RunId}")]
    public static partial void ScheduleFired(ILogger logger, string scheduleId, DateTimeOffset fireTime, RunId runId);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Schedule {ScheduleId} skipped {Count} fire(s) (overlap {Overlap}, catch-up {CatchUp})")]
    public static partial void ScheduleSkipped(ILogger logger, string scheduleId, int count, ScheduleOverlap overlap, CatchUpMode catchUp);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "Schedule {ScheduleId} starts workflow '{Workflow}', which this worker does not register; it leaves the schedule to workers that do")]
    public static partial void ScheduleWorkflowUnknown(ILogger logger, string scheduleId, string workflow);
}
