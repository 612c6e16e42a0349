namespace Durably.Storage;

/// <summary>Stores schedules (<see cref="ScheduleRecord"/>) next to the journals, so that every worker of a store shares them.</summary>
/// <remarks>
/// <para>Optional: a store implements it next to <see cref="IJournalStore"/> to support schedules (the in-memory, SQLite and
/// PostgreSQL stores do). A runtime or client asked for schedules over a store without it throws <see cref="NotSupportedException"/>.</para>
/// <para>Every write is conditional on the record's <see cref="ScheduleRecord.Version"/>, checked and changed atomically in the
/// store: that is what lets several workers advance one schedule without starting a fire twice (each fire's run id is derived
/// from the schedule and the fire time, and the journal store starts a run id once). Implementations are thread-safe and
/// must work across processes sharing the store.</para>
/// </remarks>
public interface IScheduleStore
{
    /// <summary>Reads one schedule.</summary>
    /// <returns>The record, or <see langword="null"/> when no schedule has that id.</returns>
    Task<ScheduleRecord?> GetScheduleAsync(string scheduleId, CancellationToken cancellationToken = default);

    /// <summary>Lists schedules in id order, optionally only those due by a time.</summary>
    Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(ScheduleQuery query, CancellationToken cancellationToken = default);

    /// <summary>Saves a schedule if the stored version is still <see cref="ScheduleRecord.Version"/> (0: if no schedule has its id yet).</summary>
    /// <param name="schedule">The record to store; its <see cref="ScheduleRecord.Version"/> is the version the caller read.</param>
    /// <param name="cancellationToken">Cancels the save (it may have happened).</param>
    /// <returns>The stored record, with its version one higher; <see langword="null"/> when the stored version differs (another writer got there first, or the schedule was deleted or created meanwhile), and nothing was written.</returns>
    Task<ScheduleRecord?> SaveScheduleAsync(ScheduleRecord schedule, CancellationToken cancellationToken = default);

    /// <summary>Deletes a schedule; runs it started are kept.</summary>
    /// <returns><see langword="true"/> when a schedule was deleted, <see langword="false"/> when none had that id.</returns>
    Task<bool> DeleteScheduleAsync(string scheduleId, CancellationToken cancellationToken = default);
}
