using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite;

// Schedules: one row each, the record as JSON with a CRC-32C, and its due time as a column so that a scheduler's look at
// the due schedules reads only those. Saves run on the writer thread inside a write transaction, which SQLite runs one at a
// time across every process on the file: the version check and the write are atomic for all of them.
public sealed partial class SqliteJournalStore : IScheduleStore
{
    private const string ScheduleColumns = "schedule_id, data, crc";

    /// <inheritdoc/>
    public Task<ScheduleRecord?> GetScheduleAsync(string scheduleId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scheduleId);
        ThrowIfDisposed();
        return Task.FromResult(ReadSql(connection =>
        {
            var find = _readers.Statement(connection, $"SELECT {ScheduleColumns} FROM schedules WHERE schedule_id = ?1");
            find.BindText(1, scheduleId);
            try
            {
                return find.Step() ? DecodeSchedule(find) : null;
            }
            finally
            {
                find.Reset();
            }
        }));
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(ScheduleQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.MaxCount, 1, nameof(query));
        ThrowIfDisposed();
        return Task.FromResult<IReadOnlyList<ScheduleRecord>>(ReadSql(connection =>
        {
            var list = _readers.Statement(connection, query.DueBy is null
                ? $"SELECT {ScheduleColumns} FROM schedules ORDER BY schedule_id LIMIT ?2"
                : $"SELECT {ScheduleColumns} FROM schedules WHERE due_at <= ?1 ORDER BY schedule_id LIMIT ?2");
            if (query.DueBy is { } dueBy)
            {
                list.Bind(1, dueBy.ToUnixTimeMilliseconds());
            }

            list.Bind(2, query.MaxCount);
            var found = new List<ScheduleRecord>();
            try
            {
                while (list.Step())
                {
                    found.Add(DecodeSchedule(list));
                }
            }
            finally
            {
                list.Reset();
            }

            return found;
        }));
    }

    /// <inheritdoc/>
    public Task<ScheduleRecord?> SaveScheduleAsync(ScheduleRecord schedule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ThrowIfDisposed();
        return Enqueue((store, _) =>
        {
            var read = store.WriterCommand("SELECT version FROM schedules WHERE schedule_id = $id");
            read.Parameters.AddWithValue("$id", schedule.ScheduleId);
            var stored = read.ExecuteScalar() is long version ? version : 0;
            if (stored != schedule.Version)
            {
                return null;
            }

            var saved = schedule with { Version = stored + 1 };
            var data = ScheduleSerializer.Serialize(saved);
            var write = store.WriterCommand("""
                INSERT INTO schedules(schedule_id, version, due_at, data, crc) VALUES($id, $version, $due, $data, $crc)
                ON CONFLICT(schedule_id) DO UPDATE SET version = excluded.version, due_at = excluded.due_at, data = excluded.data, crc = excluded.crc
                """);
            write.Parameters.AddWithValue("$id", saved.ScheduleId);
            write.Parameters.AddWithValue("$version", saved.Version);
            write.Parameters.AddWithValue("$due", saved.DueAt is { } due ? due.ToUnixTimeMilliseconds() : DBNull.Value);
            write.Parameters.AddWithValue("$data", data);
            write.Parameters.AddWithValue("$crc", Checksum.Compute(data));
            write.ExecuteNonQuery();
            return (ScheduleRecord?)saved;
        });
    }

    /// <inheritdoc/>
    public Task<bool> DeleteScheduleAsync(string scheduleId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scheduleId);
        ThrowIfDisposed();
        return Enqueue((store, _) =>
        {
            var delete = store.WriterCommand("DELETE FROM schedules WHERE schedule_id = $id");
            delete.Parameters.AddWithValue("$id", scheduleId);
            return delete.ExecuteNonQuery() > 0;
        });
    }

    private ScheduleRecord DecodeSchedule(NativeStatement row)
    {
        var data = row.GetBytes(1);
        if (Checksum.Compute(data) != row.GetInt64(2))
        {
            throw new JournalCorruptedException($"The journal file '{Path}' holds schedule '{row.GetString(0)}' with a checksum that does not match its data: the file is damaged. Delete the schedule ('durably schedules delete {row.GetString(0)}') and create it again, or restore the file from a backup.") { StoreLocation = Path };
        }

        return ScheduleSerializer.Deserialize(data);
    }
}
