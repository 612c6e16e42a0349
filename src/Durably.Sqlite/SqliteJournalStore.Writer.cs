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

    // Commands of fixed SQL run by write functions (claims, leases, signals), prepared once on the writer connection
    // and kept for the store's lifetime: Microsoft.Data.Sqlite parses and prepares a new command's SQL at each
    // execution. The writer connection runs no ADO.NET transaction (the batch's BEGIN is a statement), so a kept
    // command needs no Transaction set. Writer thread only; do not dispose what this returns.
    private readonly Dictionary<string, SqliteCommand> _writerCommands = new(StringComparer.Ordinal);

    private SqliteCommand WriterCommand(string sql)
    {
        if (!_writerCommands.TryGetValue(sql, out var command))
        {
            command = _writer.CreateCommand();
            command.CommandText = sql;
            _writerCommands.Add(sql, command);
        }

        command.Parameters.Clear();
        return command;
    }

    private void DisposeWriterCommands()
    {
        foreach (var command in _writerCommands.Values)
        {
            command.Dispose();
        }

        _writerCommands.Clear();
    }

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
                store._statements.Begin.Execute();
            }
            catch (SqliteException ex)
            {
                throw Translate(ex, store.Path, "starting a write");
            }

            var statements = store._statements;
            var now = store._options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var item in batch.Items)
            {
                if (item.NeedsSavepoint)
                {
                    statements.Savepoint.Execute();
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
                        statements.RollbackToSavepoint.Execute();
                    }

                    batch.Fail(item, ex);
                }
                finally
                {
                    if (item.NeedsSavepoint)
                    {
                        statements.ReleaseSavepoint.Execute();
                    }
                }
            }

            store._options.FaultInjector?.Invoke(SqliteFaultPoint.Write);
            return ValueTask.CompletedTask;
        }

        public ValueTask CommitAsync(GroupCommitBatch<WriteItem> batch)
        {
            store._options.FaultInjector?.Invoke(SqliteFaultPoint.Commit);
            store._statements.Commit.Execute();
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

    // The writer's hot-path statements, prepared once on the writer connection and reused for every batch.
    private sealed class Statements : IDisposable
    {
        private readonly NativeStatement[] _all;

        public Statements(SqliteConnection connection)
        {
            _all =
            [
                Begin = new(connection, "BEGIN IMMEDIATE"),
                Commit = new(connection, "COMMIT"),
                Savepoint = new(connection, "SAVEPOINT item"),
                RollbackToSavepoint = new(connection, "ROLLBACK TO item"),
                ReleaseSavepoint = new(connection, "RELEASE item"),
                FindRun = new(connection, $"SELECT id, next_seq, lease_epoch, last_entry, {StoredRunId} FROM runs WHERE run_id = ?1"),
                InsertRun = new(connection, """
                    INSERT INTO runs(run_id, workflow, status, created_at, updated_at, next_seq, wake_at, status_detail)
                    VALUES(?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)
                    """),
                AdvanceRun = new(connection, "UPDATE runs SET next_seq = ?2, updated_at = ?3, last_entry = ?4 WHERE id = ?1"),
                AdvanceRunWithStatus = new(connection, """
                    UPDATE runs SET next_seq = ?2, updated_at = ?3, last_entry = ?4, status = ?5, wake_at = ?6, status_detail = ?7,
                        lease_owner = CASE WHEN ?5 >= 3 THEN NULL ELSE lease_owner END,
                        lease_expires_at = CASE WHEN ?5 >= 3 THEN NULL ELSE lease_expires_at END
                    WHERE id = ?1
                    """),
                InsertEntry = new(connection, "INSERT INTO entries(run, seq, prev, data, crc) VALUES(?1, ?2, ?3, ?4, ?5)"),
            ];
        }

        public NativeStatement Begin { get; }

        public NativeStatement Commit { get; }

        public NativeStatement Savepoint { get; }

        public NativeStatement RollbackToSavepoint { get; }

        public NativeStatement ReleaseSavepoint { get; }

        // ?1 run id -> id, next_seq, lease_epoch, last_entry, the run id stored in the row.
        public NativeStatement FindRun { get; }

        // ?1 run id, ?2 workflow, ?3 status, ?4 now, ?5 next sequence, ?6 wake at, ?7 status detail.
        public NativeStatement InsertRun { get; }

        // ?1 id, ?2 next sequence, ?3 now, ?4 last entry.
        public NativeStatement AdvanceRun { get; }

        // ?1 id, ?2 next sequence, ?3 now, ?4 last entry, ?5 status, ?6 wake at, ?7 status detail.
        public NativeStatement AdvanceRunWithStatus { get; }

        // ?1 run, ?2 sequence, ?3 previous entry, ?4 data, ?5 checksum.
        public NativeStatement InsertEntry { get; }

        public void Dispose()
        {
            foreach (var statement in _all)
            {
                statement.Dispose();
            }
        }
    }
}
