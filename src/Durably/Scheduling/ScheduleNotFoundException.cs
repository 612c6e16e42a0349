namespace Durably.Scheduling;

/// <summary>Thrown when a schedule id names no schedule in the store.</summary>
public sealed class ScheduleNotFoundException : DurablyException
{
    /// <summary>Creates the exception for <paramref name="scheduleId"/>.</summary>
    public ScheduleNotFoundException(string scheduleId)
        : base($"No schedule '{scheduleId}' exists in the store. List the schedules with client.Schedules.ListAsync() or 'durably schedules list', and check the id (ids are case-sensitive).")
    {
        ScheduleId = scheduleId;
    }

    /// <summary>Gets the id that was not found.</summary>
    public string ScheduleId { get; }
}
