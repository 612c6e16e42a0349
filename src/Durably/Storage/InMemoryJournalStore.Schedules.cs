namespace Durably.Storage;

public sealed partial class InMemoryJournalStore : IScheduleStore
{
    // Kept serialized, as the durable stores keep them, so a record that does not round-trip fails here too.
    private readonly SortedDictionary<string, byte[]> _schedules = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public Task<ScheduleRecord?> GetScheduleAsync(string scheduleId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scheduleId);
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult(_schedules.TryGetValue(scheduleId, out var data) ? ScheduleSerializer.Deserialize(data) : null);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(ScheduleQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.MaxCount, 1, nameof(query));
        lock (_gate)
        {
            ThrowIfDisposed();
            IReadOnlyList<ScheduleRecord> found =
            [
                .. _schedules.Values.Select(d => ScheduleSerializer.Deserialize(d))
                    .Where(s => query.DueBy is not { } dueBy || s.DueAt <= dueBy)
                    .Take(query.MaxCount),
            ];
            return Task.FromResult(found);
        }
    }

    /// <inheritdoc/>
    public Task<ScheduleRecord?> SaveScheduleAsync(ScheduleRecord schedule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            var stored = _schedules.TryGetValue(schedule.ScheduleId, out var data) ? ScheduleSerializer.Deserialize(data).Version : 0;
            if (stored != schedule.Version)
            {
                return Task.FromResult<ScheduleRecord?>(null);
            }

            var saved = schedule with { Version = stored + 1 };
            _schedules[schedule.ScheduleId] = ScheduleSerializer.Serialize(saved);
            return Task.FromResult<ScheduleRecord?>(saved);
        }
    }

    /// <inheritdoc/>
    public Task<bool> DeleteScheduleAsync(string scheduleId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scheduleId);
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult(_schedules.Remove(scheduleId));
        }
    }
}
