using Durably.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Durably.Postgres;

// Schedules: one row each, the record as JSON and its due time as a column. A save is one conditional statement: an
// insert that does nothing when the id exists (version 0), or an update whose WHERE names the version read. Concurrent
// updates of one row queue on its row lock and re-check the version after the first commits, so exactly one of several
// workers that read the same version wins.
public sealed partial class PostgresJournalStore : IScheduleStore
{
    /// <inheritdoc/>
    public Task<ScheduleRecord?> GetScheduleAsync(string scheduleId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scheduleId);
        return RunAsync("reading a schedule", async connection =>
        {
            await using var read = new NpgsqlCommand($"SELECT data FROM {_schema}.schedules WHERE schedule_id = $1", connection);
            read.Parameters.Add(new NpgsqlParameter { Value = scheduleId });
            return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is byte[] data ? ScheduleSerializer.Deserialize(data) : null;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(ScheduleQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.MaxCount, 1, nameof(query));
        return RunAsync<IReadOnlyList<ScheduleRecord>>("listing schedules", async connection =>
        {
            await using var list = new NpgsqlCommand(
                $"SELECT data FROM {_schema}.schedules WHERE ($1::timestamptz IS NULL OR due_at <= $1) ORDER BY schedule_id LIMIT $2", connection);
            list.Parameters.Add(new NpgsqlParameter { Value = (object?)query.DueBy?.ToUniversalTime() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            list.Parameters.Add(new NpgsqlParameter { Value = query.MaxCount });
            await using var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var found = new List<ScheduleRecord>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                found.Add(ScheduleSerializer.Deserialize(reader.GetFieldValue<byte[]>(0)));
            }

            return found;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<ScheduleRecord?> SaveScheduleAsync(ScheduleRecord schedule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return RunAsync("saving a schedule", async connection =>
        {
            var saved = schedule with { Version = schedule.Version + 1 };
            await using var write = new NpgsqlCommand(
                schedule.Version == 0
                    ? $"INSERT INTO {_schema}.schedules(schedule_id, version, due_at, data) VALUES($1, $2, $3, $4) ON CONFLICT (schedule_id) DO NOTHING"
                    : $"UPDATE {_schema}.schedules SET version = $2, due_at = $3, data = $4 WHERE schedule_id = $1 AND version = $2 - 1",
                connection);
            write.Parameters.Add(new NpgsqlParameter { Value = saved.ScheduleId });
            write.Parameters.Add(new NpgsqlParameter { Value = saved.Version });
            write.Parameters.Add(new NpgsqlParameter { Value = (object?)saved.DueAt?.ToUniversalTime() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            write.Parameters.Add(new NpgsqlParameter { Value = ScheduleSerializer.Serialize(saved), NpgsqlDbType = NpgsqlDbType.Bytea });
            return await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1 ? saved : null;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> DeleteScheduleAsync(string scheduleId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scheduleId);
        return RunAsync("deleting a schedule", async connection =>
        {
            await using var delete = new NpgsqlCommand($"DELETE FROM {_schema}.schedules WHERE schedule_id = $1", connection);
            delete.Parameters.Add(new NpgsqlParameter { Value = scheduleId });
            return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }
}
