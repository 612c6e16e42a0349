using System.Globalization;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite;

// Creates the schema in a new file, or checks that an existing file is a Durably journal this version reads.
internal static class SqliteSchema
{
    // 'DRBL': marks the file as a Durably journal in the SQLite header (PRAGMA application_id).
    public const int ApplicationId = 0x4452424C;

    public const int SchemaVersion = 1;

    private static readonly string[] Tables = ["runs", "entries", "signals"];

    // Entries are stored in insertion order, each linked to the previous entry of its run, and the run row
    // (rewritten by every append anyway) points at its last entry. A group commit appends to many runs at
    // once: clustering entries by run, or indexing them by (run, seq), would dirty one page per run per
    // commit, each a 4 KiB WAL frame to write and sync; this layout dirties the table's last pages and the
    // run rows only. Reading a run's journal follows the links back, one rowid lookup per entry.
    private const string CreateSql = $"""
        CREATE TABLE runs(
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            workflow TEXT NOT NULL,
            status INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            next_seq INTEGER NOT NULL,
            last_entry INTEGER,
            wake_at INTEGER,
            status_detail TEXT,
            lease_owner TEXT,
            lease_epoch INTEGER NOT NULL DEFAULT 0,
            lease_expires_at INTEGER,
            queue TEXT,
            queue_key TEXT,
            priority INTEGER NOT NULL DEFAULT 0,
            first_dequeued_at INTEGER);
        CREATE INDEX runs_active ON runs(status, wake_at) WHERE status < 3;
        CREATE INDEX runs_workflow ON runs(workflow, id);
        CREATE INDEX runs_ready ON runs(id) WHERE status < 2;
        CREATE INDEX runs_leased ON runs(lease_owner) WHERE lease_owner IS NOT NULL;
        CREATE TABLE entries(
            id INTEGER PRIMARY KEY,
            run INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            prev INTEGER,
            data BLOB NOT NULL,
            crc INTEGER NOT NULL);
        CREATE TABLE signals(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run INTEGER NOT NULL,
            name TEXT NOT NULL,
            encoding TEXT,
            payload BLOB,
            crc INTEGER,
            sender TEXT,
            delivered_at INTEGER NOT NULL);
        CREATE INDEX signals_run ON signals(run, id);
        {SchedulesSql}
        """ + BlobTablesSql + "\n" + QueueTablesSql;

    // Payload blobs (large payloads kept outside the rows, SqliteJournalStore.Blobs.cs): one row per run and blob it refers to,
    // written in the transaction of the entry or signal that refers to it and deleted with the run. Added after schema
    // version 1 without changing it: a file made before gets the table at its first open by this version.
    private const string BlobTablesSql = """

        CREATE TABLE IF NOT EXISTS blob_refs(
            run INTEGER NOT NULL,
            hash TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS blob_refs_run ON blob_refs(run);
        CREATE INDEX IF NOT EXISTS blob_refs_hash ON blob_refs(hash);
        """;

    // Queues (IRunQueueStore): added after schema version 1 without changing it. A new file gets them with CreateSql; a file
    // made before them gets the columns (when missing), the tables and the indexes at its first open by this version. Every
    // index holds queued runs only, so a store that uses no queue writes nothing more per append. queue_tokens holds the model
    // tokens runs of token-limited queues used in about the last minute (QueueDefinition.TokensPerMinute).
    private static readonly (string Column, string Sql)[] AddedQueueColumns =
    [
        ("queue", "ALTER TABLE runs ADD COLUMN queue TEXT"),
        ("queue_key", "ALTER TABLE runs ADD COLUMN queue_key TEXT"),
        ("priority", "ALTER TABLE runs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0"),
        ("first_dequeued_at", "ALTER TABLE runs ADD COLUMN first_dequeued_at INTEGER"),
    ];

    private const string QueueTablesSql = """
        CREATE TABLE IF NOT EXISTS queues(
            name TEXT PRIMARY KEY,
            max_concurrency INTEGER,
            max_per_key INTEGER,
            runs_per_minute INTEGER,
            rate_per_key INTEGER NOT NULL DEFAULT 0,
            paused INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL,
            tokens_per_minute INTEGER);
        CREATE TABLE IF NOT EXISTS queue_tokens(
            queue TEXT NOT NULL,
            queue_key TEXT,
            at INTEGER NOT NULL,
            tokens INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS queue_tokens_window ON queue_tokens(queue, at);
        CREATE INDEX IF NOT EXISTS runs_queued ON runs(queue, queue_key) WHERE queue IS NOT NULL AND status < 3;
        CREATE INDEX IF NOT EXISTS runs_queue_window ON runs(queue, first_dequeued_at) WHERE first_dequeued_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS runs_queue_started ON runs(queue, queue_key, created_at) WHERE queue IS NOT NULL;
        """;

    private static void AddQueueSchema(SqliteConnection connection)
    {
        if (HasQueueSchema(ReadQueueSchema(connection)))
        {
            return;
        }

        // Another process may be adding them at the same moment: look again under the write lock.
        Execute(connection, "BEGIN IMMEDIATE");
        try
        {
            var present = ReadQueueSchema(connection);
            foreach (var (column, sql) in AddedQueueColumns)
            {
                if (!present.Contains(column))
                {
                    Execute(connection, sql);
                }
            }

            // A queues table made before token limits gets their column; a new one has it from QueueTablesSql.
            if (present.Contains("table:queues") && !present.Contains("queues.tokens_per_minute"))
            {
                Execute(connection, "ALTER TABLE queues ADD COLUMN tokens_per_minute INTEGER");
            }

            Execute(connection, QueueTablesSql);
            Execute(connection, "COMMIT");
        }
        catch
        {
            TryRollback(connection);
            throw;
        }
    }

    private static bool HasQueueSchema(HashSet<string> present)
        => present.Contains("table:queues") && present.Contains("table:queue_tokens") && present.Contains("queues.tokens_per_minute")
            && AddedQueueColumns.All(c => present.Contains(c.Column));

    // The queue schema the file has: the runs table's column names, "queues.{column}" and "table:{name}" for the queue tables.
    private static HashSet<string> ReadQueueSchema(SqliteConnection connection)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT name FROM pragma_table_info('runs')
            UNION ALL SELECT 'queues.' || name FROM pragma_table_info('queues')
            UNION ALL SELECT 'table:' || name FROM sqlite_master WHERE type = 'table' AND name IN ('queues', 'queue_tokens')
            """;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            present.Add(reader.GetString(0));
        }

        return present;
    }

    // Schedules (IScheduleStore), added after schema version 1 without changing it: one row per schedule, the record as JSON
    // with its checksum, and when it is next due (NULL when paused) for the scheduler's look at the due ones. Created in new
    // files by CreateSql and in older files at their first open by this version (AddTables); older versions of Durably open
    // files that have it and leave it alone.
    private const string SchedulesSql = """
        CREATE TABLE IF NOT EXISTS schedules(
            schedule_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            due_at INTEGER,
            data BLOB NOT NULL,
            crc INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS schedules_due ON schedules(due_at) WHERE due_at IS NOT NULL;
        """;

    private static readonly (string Name, string Sql)[] AddedTables =
    [
        ("schedules", SchedulesSql),
        ("blob_refs", BlobTablesSql),
    ];

    public static void Initialize(SqliteConnection connection, string path, SqliteJournalStoreOptions options)
    {
        // Looked at before SQLite reads the file: reading creates the WAL file when it is missing.
        var walHasContent = new FileInfo(path + "-wal") is { Exists: true, Length: > 0 };
        Execute(connection, $"PRAGMA busy_timeout={(long)options.BusyTimeout.TotalMilliseconds}");
        var (applicationId, version, tables) = ReadHeader(connection);
        if (applicationId == 0 && tables == 0)
        {
            if (!options.CreateIfMissing)
            {
                throw new JournalCorruptedException($"The file '{path}' is empty: it holds no journal. If it was a journal it was truncated; restore it from a backup. To start a new journal in it, open it with CreateIfMissing.") { StoreLocation = path };
            }

            Create(connection);
            (applicationId, version, _) = ReadHeader(connection);
        }

        if (applicationId != ApplicationId)
        {
            throw new JournalCorruptedException($"The file '{path}' is a SQLite database but not a Durably journal (it has other tables and no Durably marker). Point the store at a new file or at a Durably journal.") { StoreLocation = path };
        }

        if (version > SchemaVersion)
        {
            throw new JournalFormatException($"The journal file '{path}' has schema version {version}; this version of Durably reads versions up to {SchemaVersion}. Upgrade Durably to open it.") { FormatVersion = (int)version };
        }

        if (!walHasContent)
        {
            CheckLength(connection, path);
        }

        CheckTables(connection, path);
        AddTables(connection);
        AddIndexes(connection);
        AddQueueSchema(connection);
        var mode = Scalar(connection, "PRAGMA journal_mode=WAL");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new JournalStoreException($"The journal file '{path}' could not be switched to WAL mode (SQLite reports '{mode}'). Put it on a local file system that supports shared memory.") { StoreLocation = path };
        }

        Execute(connection, options.Durability == SqliteDurability.Full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        Probe(connection, path);
    }

    // Indexes added after schema version 1 without changing it (older versions of Durably open such files and
    // maintain the indexes as SQLite does for any index). Claims name them, so a file made before them gets them at
    // its first open by this version; a file that has them is not written to.
    private static readonly (string Name, string Sql)[] AddedIndexes =
    [
        ("runs_ready", "CREATE INDEX IF NOT EXISTS runs_ready ON runs(id) WHERE status < 2"),
        ("runs_leased", "CREATE INDEX IF NOT EXISTS runs_leased ON runs(lease_owner) WHERE lease_owner IS NOT NULL"),
    ];

    private static void AddTables(SqliteConnection connection)
    {
        foreach (var (name, sql) in AddedTables)
        {
            if (Scalar(connection, $"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{name}'") == "0")
            {
                Execute(connection, sql);
            }
        }
    }

    private static void AddIndexes(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'index'";
        var present = new HashSet<string>(StringComparer.Ordinal);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                present.Add(reader.GetString(0));
            }
        }

        foreach (var (name, sql) in AddedIndexes)
        {
            if (!present.Contains(name))
            {
                Execute(connection, sql);
            }
        }
    }

    // SQLite itself rejects a file shorter than the page count in its header, but rounds a partial last
    // page up and reads the missing bytes as zeros. A database file is always a whole number of pages,
    // except while a checkpoint copies pages from the WAL, which is why this only runs when the WAL is empty.
    private static void CheckLength(SqliteConnection connection, string path)
    {
        var pageSize = long.Parse(Scalar(connection, "PRAGMA page_size") ?? "0", CultureInfo.InvariantCulture);
        var length = new FileInfo(path).Length;
        if (pageSize > 0 && length % pageSize != 0)
        {
            throw new JournalCorruptedException($"The journal file '{path}' is {length} bytes, not a whole number of {pageSize}-byte pages: it was truncated or only partly copied. Restore it from a backup.") { StoreLocation = path };
        }
    }

    private static void CheckTables(SqliteConnection connection, string path)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
        var present = new HashSet<string>(StringComparer.Ordinal);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                present.Add(reader.GetString(0));
            }
        }

        var missing = Tables.Where(t => !present.Contains(t)).ToList();
        if (missing.Count > 0)
        {
            throw new JournalCorruptedException($"The journal file '{path}' has the Durably marker but lacks the table(s) {string.Join(", ", missing)}: it is damaged. Restore it from a backup.") { StoreLocation = path };
        }
    }

    // Walks the newest end of every table and of the run-id index every append uses, and checks the newest
    // entry against its checksum. This costs a few page reads whatever the file's size; damage elsewhere is found
    // by the read that touches it ('durably journal verify' checks everything).
    private static void Probe(SqliteConnection connection, string path)
    {
        _ = Scalar(connection, "SELECT max(id) FROM runs");
        _ = Scalar(connection, "SELECT max(run_id) FROM runs");
        _ = Scalar(connection, "SELECT max(id) FROM signals");
        using var newest = new NativeStatement(connection, "SELECT e.seq, e.data, e.crc, r.run_id FROM entries e LEFT JOIN runs r ON r.id = e.run ORDER BY e.id DESC LIMIT 1");
        if (newest.Step())
        {
            var runId = newest.IsNull(3) ? throw new JournalCorruptedException($"The journal file '{path}' holds entries of a run that is not in its run table: it is damaged. Restore it from a backup.") { StoreLocation = path } : newest.GetString(3);
            _ = SqliteJournalStore.DecodeEntry(path, runId, newest.GetInt64(0), newest, 1);
        }
    }

    private static void Create(SqliteConnection connection)
    {
        Execute(connection, "BEGIN IMMEDIATE");
        try
        {
            // Another process may have created the schema while this one waited for the lock.
            var (applicationId, _, tables) = ReadHeader(connection);
            if (applicationId == 0 && tables == 0)
            {
                Execute(connection, CreateSql);
                Execute(connection, $"PRAGMA application_id={ApplicationId.ToString(CultureInfo.InvariantCulture)}");
                Execute(connection, $"PRAGMA user_version={SchemaVersion.ToString(CultureInfo.InvariantCulture)}");
            }

            Execute(connection, "COMMIT");
        }
        catch
        {
            TryRollback(connection);
            throw;
        }
    }

    private static (long ApplicationId, long Version, long Tables) ReadHeader(SqliteConnection connection)
    {
        var applicationId = long.Parse(Scalar(connection, "PRAGMA application_id") ?? "0", CultureInfo.InvariantCulture);
        var version = long.Parse(Scalar(connection, "PRAGMA user_version") ?? "0", CultureInfo.InvariantCulture);
        var tables = long.Parse(Scalar(connection, "SELECT count(*) FROM sqlite_master") ?? "0", CultureInfo.InvariantCulture);
        return (applicationId, version, tables);
    }

    internal static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    internal static string? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    internal static void TryRollback(SqliteConnection connection)
    {
        try
        {
            Execute(connection, "ROLLBACK");
        }
        catch (SqliteException)
        {
            // No transaction was open (SQLite may have rolled it back itself after an I/O error).
        }
    }
}
