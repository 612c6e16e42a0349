using System.Runtime.CompilerServices;
using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite;

// The store's own pool of reader connections, opened with Microsoft.Data.Sqlite's pooling off.
//
// Why not the library's pool: in Microsoft.Data.Sqlite 10.0 an open can hand out a native connection that another
// open is still activating (activation marks it active before it records its owner, and an open that finds the pool
// empty reclaims such a connection as leaked), so two SqliteConnection objects share one handle and the second read
// transaction fails with "cannot start a transaction within a transaction". The writer's connection never enters any
// pool either, so a handle inside the writer's transaction can never reach a reader.
//
// A connection is handed out only when SQLite says it is in autocommit mode (no transaction open on it), and goes back
// only in that state; any other connection is closed. Thread-safe.
internal sealed class SqliteReaderPool : IDisposable
{
    private readonly string _connectionString;
    private readonly string _path;
    private readonly int _maxIdle;
    private readonly Stack<SqliteConnection> _idle = new();
    private readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, NativeStatement>> _statements = new();
    private bool _disposed;

    public SqliteReaderPool(string connectionString, string path, int maxIdle)
    {
        _connectionString = connectionString;
        _path = path;
        _maxIdle = maxIdle;
    }

    // Gets an open connection with no transaction on it, reusing an idle one when there is one.
    public SqliteConnection Rent()
    {
        while (true)
        {
            SqliteConnection? connection;
            lock (_idle)
            {
                ObjectDisposedException.ThrowIf(_disposed, typeof(SqliteJournalStore));
                _idle.TryPop(out connection);
            }

            if (connection is null)
            {
                return Open();
            }

            if (IsReusable(connection))
            {
                return connection;
            }

            Close(connection);
        }
    }

    // A statement prepared on a rented connection and kept with it for the connection's life: the reads every run
    // makes (its journal) are not parsed again each time. The caller resets it after use, as a statement left
    // stepping would keep the connection's read transaction open (and the pool would close the connection).
    public NativeStatement Statement(SqliteConnection connection, string sql)
    {
        var cache = _statements.GetOrCreateValue(connection);
        if (!cache.TryGetValue(sql, out var statement))
        {
            statement = new NativeStatement(connection, sql);
            cache.Add(sql, statement);
        }

        return statement;
    }

    // Takes a connection back once its read is over; one that is not reusable (or past the idle cap) is closed.
    public void Return(SqliteConnection connection)
    {
        if (IsReusable(connection))
        {
            ReturnUnchecked(connection);
        }
        else
        {
            Close(connection);
        }
    }

    // Puts a connection back as it is (tests use it to plant a connection left inside a transaction).
    internal void ReturnUnchecked(SqliteConnection connection)
    {
        lock (_idle)
        {
            if (!_disposed && _idle.Count < _maxIdle)
            {
                _idle.Push(connection);
                return;
            }
        }

        Close(connection);
    }

    public void Dispose()
    {
        lock (_idle)
        {
            _disposed = true;
            while (_idle.TryPop(out var connection))
            {
                Close(connection);
            }
        }
    }

    // Closes a rented connection that must not be reused.
    public void Discard(SqliteConnection connection) => Close(connection);

    // Finalizes the connection's kept statements, then closes it.
    private void Close(SqliteConnection connection)
    {
        if (_statements.TryGetValue(connection, out var cache))
        {
            foreach (var statement in cache.Values)
            {
                statement.Dispose();
            }

            _statements.Remove(connection);
        }

        connection.Dispose();
    }

    private static bool IsReusable(SqliteConnection connection)
        => connection.State == System.Data.ConnectionState.Open
           && connection.Handle is { IsInvalid: false } handle
           && SQLitePCL.raw.sqlite3_get_autocommit(handle) != 0;

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw SqliteJournalStore.Translate(ex, _path, "opening");
        }

        return connection;
    }
}
