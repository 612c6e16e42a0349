using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite;

// The group-commit writer: one thread drains the queue, runs every pending write in one
// transaction, commits (one sync), and only then completes the waiters.
//
// Failures: an error before COMMIT (a conflict, a full disk, an I/O error while writing pages) rolls the batch
// back and fails its waiters; nothing of it is on disk and the writer carries on. An I/O error in COMMIT or in
// the sync after it is different: the commit frame may or may not have reached the disk, and after a failed
// fsync the operating system may have dropped the pages it could not write while reporting later syncs as
// successful. The writer then fails that batch as in doubt and stops: every later write fails with
// JournalStoreFailedException until the store is disposed and opened again, which reads what is really on disk.
public sealed partial class SqliteJournalStore
{
    private readonly object _queueGate = new();
    private readonly Statements _statements;
    private List<WriteItem> _queue = [];
    private bool _stopping;
    private JournalStoreFailedException? _failure;

    private Task Enqueue(WriteItem item)
    {
        lock (_queueGate)
        {
            if (_stopping)
            {
                throw new ObjectDisposedException(nameof(SqliteJournalStore));
            }

            if (_failure is { } failure)
            {
                item.Fail(Stopped(failure));
                return item.Task;
            }

            _queue.Add(item);
            if (_queue.Count == 1)
            {
                Monitor.Pulse(_queueGate);
            }
        }

        return item.Task;
    }

    private Task<T> Enqueue<T>(Func<SqliteJournalStore, long, T> action)
    {
        var item = new FuncItem<T>(action);
        Enqueue(item);
        return item.TypedTask;
    }

    private void WriterLoop()
    {
        var batch = new List<WriteItem>();
        while (true)
        {
            lock (_queueGate)
            {
                while (_queue.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_queueGate);
                }

                if (_queue.Count == 0)
                {
                    return;
                }

                (batch, _queue) = (_queue, batch);
            }

            if (Volatile.Read(ref _failure) is { } failure)
            {
                // Queued before the store stopped.
                foreach (var item in batch)
                {
                    item.Fail(Stopped(failure));
                }
            }
            else
            {
                CommitBatch(batch, isolated: false);
            }

            batch.Clear();
        }
    }

    private void CommitBatch(List<WriteItem> batch, bool isolated)
    {
        var done = new List<WriteItem>(batch.Count);
        try
        {
            _statements.Begin.ExecuteNonQuery();
        }
        catch (SqliteException ex)
        {
            FailAll(batch, Translate(ex, Path, "starting a write"));
            return;
        }

        var now = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        try
        {
            foreach (var item in batch)
            {
                if (item.NeedsSavepoint)
                {
                    SqliteSchema.Execute(_writer, "SAVEPOINT item");
                }

                try
                {
                    item.Execute(this, now);
                    done.Add(item);
                }
                catch (Exception ex) when (ex is DurablyException or ArgumentException)
                {
                    // The item found a conflict before writing anything (or its savepoint undoes what it wrote).
                    if (item.NeedsSavepoint)
                    {
                        SqliteSchema.Execute(_writer, "ROLLBACK TO item");
                    }

                    item.Fail(ex);
                }
                finally
                {
                    if (item.NeedsSavepoint)
                    {
                        SqliteSchema.Execute(_writer, "RELEASE item");
                    }
                }
            }

            _options.FaultInjector?.Invoke(SqliteFaultPoint.Write);
        }
        catch (Exception ex)
        {
            SqliteSchema.TryRollback(_writer);
            if (ex is IOException || (ex is SqliteException sqlite && IsStorageFailure(sqlite)))
            {
                var failure = TranslateWriteFailure(ex, "writing");
                FailAll(done, failure);
                FailAll(batch.Where(i => !i.Task.IsCompleted).ToList(), failure);
                return;
            }

            if (isolated)
            {
                FailAll(batch, ex switch
                {
                    SqliteException s => Translate(s, Path, "writing"),
                    _ when IsWrongValue(ex) => WrongValue(Path, ex),
                    _ => new JournalStoreException($"Writing to the journal file '{Path}' failed: {ex.Message}", ex) { StoreLocation = Path },
                });
                return;
            }

            // An unexpected error: run every pending item alone so only the one that causes it fails.
            foreach (var item in batch.Where(i => !i.Task.IsCompleted))
            {
                CommitBatch([item], isolated: true);
            }

            return;
        }

        try
        {
            _options.FaultInjector?.Invoke(SqliteFaultPoint.Commit);
            _statements.Commit.ExecuteNonQuery();
        }
        catch (Exception ex) when (ex is SqliteException or IOException)
        {
            SqliteSchema.TryRollback(_writer);
            if (IsIoError(ex))
            {
                Stop(ex, done);
            }
            else
            {
                // A full disk, a lock: SQLite writes the commit frame last, so a commit that failed this way left nothing.
                FailAll(done, TranslateWriteFailure(ex, "committing"));
            }

            return;
        }

        try
        {
            _options.FaultInjector?.Invoke(SqliteFaultPoint.Sync);
        }
        catch (Exception ex) when (ex is SqliteException or IOException)
        {
            Stop(ex, done);
            return;
        }

        foreach (var item in done)
        {
            item.Complete();
        }
    }

    private static bool IsStorageFailure(SqliteException ex) => (ex.SqliteErrorCode & 0xFF) is 5 or 6 or 8 or 10 or 11 or 13 or 14 or 26;

    private static bool IsIoError(Exception ex) => ex is IOException || (ex is SqliteException sqlite && (sqlite.SqliteErrorCode & 0xFF) == 10);

    private JournalStoreException TranslateWriteFailure(Exception ex, string action) => ex is SqliteException sqlite
        ? Translate(sqlite, Path, action)
        : new JournalStoreException($"An I/O error occurred on the journal file '{Path}' while {action}; nothing was written. Check the disk. ({ex.Message})", ex) { StoreLocation = Path };

    // Fails the batch whose commit is in doubt and refuses every later write (see the remarks at the top).
    private void Stop(Exception ex, List<WriteItem> batch)
    {
        var failure = new JournalStoreFailedException(
            $"An I/O error occurred on the journal file '{Path}' while making a commit durable ({ex.Message.TrimEnd('.')}). The writes in that commit were not acknowledged, but they may or may not be in the journal when it is reopened: read those runs before writing them again. The store accepts no more writes: check the disk, then dispose the store and open the file again.",
            ex)
        { StoreLocation = Path };
        lock (_queueGate)
        {
            Volatile.Write(ref _failure, failure);
        }

        FailAll(batch, failure);
    }

    private JournalStoreFailedException Stopped(JournalStoreFailedException failure)
        => new($"The store of the journal file '{Path}' stopped accepting writes after an I/O error while making a commit durable ({failure.InnerException?.Message.TrimEnd('.')}); what that commit left on disk is uncertain. Check the disk, then dispose the store and open the file again.", failure)
        {
            StoreLocation = Path,
        };

    private static void FailAll(List<WriteItem> items, Exception ex)
    {
        foreach (var item in items)
        {
            item.Fail(ex);
        }
    }

    private abstract class WriteItem
    {
        public abstract Task Task { get; }

        public virtual bool NeedsSavepoint => false;

        public abstract void Execute(SqliteJournalStore store, long now);

        public abstract void Complete();

        public abstract void Fail(Exception exception);
    }

    private sealed class FuncItem<T>(Func<SqliteJournalStore, long, T> action) : WriteItem
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;

        public override Task Task => _completion.Task;

        public Task<T> TypedTask => _completion.Task;

        // Functions may write several rows before finding a problem.
        public override bool NeedsSavepoint => true;

        public override void Execute(SqliteJournalStore store, long now) => _result = action(store, now);

        public override void Complete() => _completion.TrySetResult(_result!);

        public override void Fail(Exception exception) => _completion.TrySetException(exception);
    }

    // Prepared statements on the writer connection, reused for every write.
    private sealed class Statements : IDisposable
    {
        public Statements(SqliteConnection connection)
        {
            Begin = Prepare(connection, "BEGIN IMMEDIATE");
            Commit = Prepare(connection, "COMMIT");
            FindRun = Prepare(connection, $"SELECT id, next_seq, lease_epoch, last_entry, {StoredRunId} FROM runs WHERE run_id = $run_id", "$run_id");
            InsertRun = Prepare(connection, """
                INSERT INTO runs(run_id, workflow, status, created_at, updated_at, next_seq, wake_at, status_detail)
                VALUES($run_id, $workflow, $status, $now, $now, $next, $wake, $detail)
                """, "$run_id", "$workflow", "$status", "$now", "$next", "$wake", "$detail");
            AdvanceRun = Prepare(connection, "UPDATE runs SET next_seq = $next, updated_at = $now, last_entry = $last WHERE id = $id", "$id", "$next", "$now", "$last");
            AdvanceRunWithStatus = Prepare(connection, """
                UPDATE runs SET next_seq = $next, updated_at = $now, last_entry = $last, status = $status, wake_at = $wake, status_detail = $detail,
                    lease_owner = CASE WHEN $status >= 3 THEN NULL ELSE lease_owner END,
                    lease_expires_at = CASE WHEN $status >= 3 THEN NULL ELSE lease_expires_at END
                WHERE id = $id
                """, "$id", "$next", "$now", "$last", "$status", "$wake", "$detail");
            InsertEntry = Prepare(connection, "INSERT INTO entries(run, seq, prev, data, crc) VALUES($run, $seq, $prev, $data, $crc)", "$run", "$seq", "$prev", "$data", "$crc");
        }

        public SqliteCommand Begin { get; }

        public SqliteCommand Commit { get; }

        public SqliteCommand FindRun { get; }

        public SqliteCommand InsertRun { get; }

        public SqliteCommand AdvanceRun { get; }

        public SqliteCommand AdvanceRunWithStatus { get; }

        public SqliteCommand InsertEntry { get; }

        public void Dispose()
        {
            Begin.Dispose();
            Commit.Dispose();
            FindRun.Dispose();
            InsertRun.Dispose();
            AdvanceRun.Dispose();
            AdvanceRunWithStatus.Dispose();
            InsertEntry.Dispose();
        }

        private static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in parameters)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name, Value = DBNull.Value });
            }

            return command;
        }
    }
}
