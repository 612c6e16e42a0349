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

    private const string CreateSql = """
        CREATE TABLE runs(
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            workflow TEXT NOT NULL,
            status INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            next_seq INTEGER NOT NULL,
            wake_at INTEGER,
            status_detail TEXT,
            lease_owner TEXT,
            lease_epoch INTEGER NOT NULL DEFAULT 0,
            lease_expires_at INTEGER);
        CREATE INDEX runs_active ON runs(status, wake_at) WHERE status < 3;
        CREATE INDEX runs_workflow ON runs(workflow, id);
        CREATE TABLE entries(
            run INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY(run, seq)) WITHOUT ROWID;
        CREATE TABLE signals(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run INTEGER NOT NULL,
            name TEXT NOT NULL,
            encoding TEXT,
            payload BLOB,
            sender TEXT,
            delivered_at INTEGER NOT NULL);
        CREATE INDEX signals_run ON signals(run, id);
        """;

    public static void Initialize(SqliteConnection connection, string path, SqliteJournalStoreOptions options)
    {
        Execute(connection, $"PRAGMA busy_timeout={(long)options.BusyTimeout.TotalMilliseconds}");
        var (applicationId, version, tables) = ReadHeader(connection);
        if (applicationId == 0 && tables == 0)
        {
            Create(connection, path);
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

        var mode = Scalar(connection, "PRAGMA journal_mode=WAL");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new JournalStoreException($"The journal file '{path}' could not be switched to WAL mode (SQLite reports '{mode}'). Put it on a local file system that supports shared memory.") { StoreLocation = path };
        }

        Execute(connection, options.Durability == SqliteDurability.Full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    }

    private static void Create(SqliteConnection connection, string path)
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

        _ = path;
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
