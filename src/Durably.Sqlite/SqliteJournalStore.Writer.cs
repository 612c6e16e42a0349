using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite;

// The store's side of the group commit (GroupCommitWriter decides batching, waiter completion and the fail-stop):
// one transaction per batch on the writer connection, a savepoint around each item that may write before it finds
// a conflict, COMMIT (one sync).
//
// How errors are classified: an error before COMMIT (a conflict, a full disk, an I/O error while writing pages)
// leaves nothing of the batch on disk. An I/O error in COMMIT or in the sync after it is different: the commit frame
// may or may not have reached the disk, and after a failed fsync the operating system may have dropped the pages it
// could not write while reporting later syncs as successful. That is fatal: the writer fails the batch as in doubt
// and refuses every later write until the store is disposed and opened again, which reads what is really on disk.
public sealed partial class SqliteJournalStore
{
    private readonly Statements _statements;
    private readonly GroupCommitWriter<WriteItem> _writes;

    private Task<T> Enqueue<T>(Func<SqliteJournalStore, long, T> action)
    {
        var item = new FuncItem<T>(action);
        _writes.Enqueue(item);
        return item.ResultAsync();
    }

    private static bool IsStorageFailure(SqliteException ex) => (ex.SqliteErrorCode & 0xFF) is 5 or 6 or 8 or 10 or 11 or 13 or 14 or 26;

    private static bool IsIoError(Exception ex) => ex is IOException || (ex is SqliteException sqlite && (sqlite.SqliteErrorCode & 0xFF) == 10);

    private JournalStoreException TranslateWriteFailure(Exception ex, string action) => ex is SqliteException sqlite
        ? Translate(sqlite, Path, action)
        : new JournalStoreException($"An I/O error occurred on the journal file '{Path}' while {action}; nothing was written. Check the disk. ({ex.Message})", ex) { StoreLocation = Path };

    private sealed class BatchTarget(SqliteJournalStore store) : IGroupCommitTarget<WriteItem>
    {
        private bool _committed;

        public ValueTask WriteAsync(GroupCommitBatch<WriteItem> batch)
        {
            _committed = false;
            try
            {
                store._statements.Begin.ExecuteNonQuery();
            }
            catch (SqliteException ex)
            {
                throw Translate(ex, store.Path, "starting a write");
            }

            var writer = store._writer;
            var now = store._options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var item in batch.Items)
            {
                if (item.NeedsSavepoint)
                {
                    SqliteSchema.Execute(writer, "SAVEPOINT item");
                }

                try
                {
                    item.Execute(store, now);
                }
                catch (Exception ex) when (ex is DurablyException or ArgumentException)
                {
                    // The item found a conflict before writing anything (or its savepoint undoes what it wrote).
                    if (item.NeedsSavepoint)
                    {
                        SqliteSchema.Execute(writer, "ROLLBACK TO item");
                    }

                    batch.Fail(item, ex);
                }
                finally
                {
                    if (item.NeedsSavepoint)
                    {
                        SqliteSchema.Execute(writer, "RELEASE item");
                    }
                }
            }

            store._options.FaultInjector?.Invoke(SqliteFaultPoint.Write);
            return ValueTask.CompletedTask;
        }

        public ValueTask CommitAsync(GroupCommitBatch<WriteItem> batch)
        {
            store._options.FaultInjector?.Invoke(SqliteFaultPoint.Commit);
            store._statements.Commit.ExecuteNonQuery();
            _committed = true;
            store._options.FaultInjector?.Invoke(SqliteFaultPoint.Sync);
            return ValueTask.CompletedTask;
        }

        public ValueTask RollBackAsync()
        {
            if (!_committed)
            {
                SqliteSchema.TryRollback(store._writer);
            }

            return ValueTask.CompletedTask;
        }

        public GroupCommitError Classify(Exception exception, GroupCommitStage stage)
        {
            var path = store.Path;
            if (stage == GroupCommitStage.Write)
            {
                return exception switch
                {
                    JournalStoreException starting => GroupCommitError.NothingCommitted(starting),
                    _ when exception is IOException || (exception is SqliteException storage && IsStorageFailure(storage))
                        => GroupCommitError.NothingCommitted(store.TranslateWriteFailure(exception, "writing")),
                    SqliteException s => GroupCommitError.Unexpected(Translate(s, path, "writing")),
                    _ when IsWrongValue(exception) => GroupCommitError.Unexpected(WrongValue(path, exception)),
                    _ => GroupCommitError.Unexpected(new JournalStoreException($"Writing to the journal file '{path}' failed: {exception.Message}", exception) { StoreLocation = path }),
                };
            }

            if (exception is not (SqliteException or IOException))
            {
                return GroupCommitError.Unexpected(new JournalStoreException($"Committing to the journal file '{path}' failed: {exception.Message}", exception) { StoreLocation = path });
            }

            // A full disk, a lock: SQLite writes the commit frame last, so a commit that failed this way left nothing.
            return _committed || IsIoError(exception)
                ? GroupCommitError.Fatal(new JournalStoreFailedException(
                    $"An I/O error occurred on the journal file '{path}' while making a commit durable ({exception.Message.TrimEnd('.')}). The writes in that commit were not acknowledged, but they may or may not be in the journal when it is reopened: read those runs before writing them again. The store accepts no more writes: check the disk, then dispose the store and open the file again.",
                    exception)
                { StoreLocation = path })
                : GroupCommitError.NothingCommitted(store.TranslateWriteFailure(exception, "committing"));
        }

        // SQLite cannot tell whether a commit whose sync failed is durable: such errors are fatal, never in doubt.
        public ValueTask<IReadOnlyList<bool>> ResolveInDoubtAsync(IReadOnlyList<WriteItem> items, Exception cause)
            => throw new NotSupportedException();
    }

    private abstract class WriteItem : GroupCommitItem
    {
        public virtual bool NeedsSavepoint => false;

        public abstract void Execute(SqliteJournalStore store, long now);
    }

    private sealed class FuncItem<T>(Func<SqliteJournalStore, long, T> action) : WriteItem
    {
        private T? _result;

        // Functions may write several rows before finding a problem.
        public override bool NeedsSavepoint => true;

        public override void Execute(SqliteJournalStore store, long now) => _result = action(store, now);

        public async Task<T> ResultAsync()
        {
            await Task.ConfigureAwait(false);
            return _result!;
        }
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
