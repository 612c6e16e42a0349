using System.Buffers;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Durably.Sqlite;

// A statement of the writer's hot path, prepared once for the store's lifetime and driven through SQLitePCL directly.
// Microsoft.Data.Sqlite allocates a parameter binder per parameter, a data reader and its statement iterators on every
// execution, which was about 4 KB and a good part of the CPU of each append; this binds and steps the same prepared
// statement with no allocation. Errors surface as the SqliteException Microsoft.Data.Sqlite would throw, so the
// store's error translation is the same on both paths. Not thread-safe: used by one thread at a time (the writer's
// statements by the writer thread, a read's by the read).
internal sealed class NativeStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public NativeStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var rc = raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out _statement);
        SqliteException.ThrowExceptionForRC(rc, _db);
    }

    public void Bind(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

    public void BindNull(int index) => Check(raw.sqlite3_bind_null(_statement, index));

    public void Bind(int index, long? value)
    {
        if (value is { } v)
        {
            Bind(index, v);
        }
        else
        {
            BindNull(index);
        }
    }

    public void BindBlob(int index, ReadOnlySpan<byte> value) => Check(raw.sqlite3_bind_blob(_statement, index, value));

    public void BindText(int index, string? value)
    {
        if (value is null)
        {
            BindNull(index);
            return;
        }

        // Run ids and names are short: encode on the stack; SQLite copies the bytes (SQLITE_TRANSIENT).
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var buffer = max <= 512 ? stackalloc byte[max] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(value, buffer);
            Check(raw.sqlite3_bind_text(_statement, index, buffer[..length]));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    // Steps once: true with a row to read, false when done. Call Reset after the last read.
    public bool Step()
    {
        var rc = raw.sqlite3_step(_statement);
        if (rc == raw.SQLITE_ROW)
        {
            return true;
        }

        if (rc == raw.SQLITE_DONE)
        {
            return false;
        }

        // sqlite3_reset reports the same error; reset so the statement can run again, then throw.
        raw.sqlite3_reset(_statement);
        SqliteException.ThrowExceptionForRC(rc, _db);
        return false;
    }

    // Runs a statement that returns no rows, and resets it.
    public void Execute()
    {
        try
        {
            Step();
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    public void Reset() => raw.sqlite3_reset(_statement);

    public bool IsNull(int column) => raw.sqlite3_column_type(_statement, column) == raw.SQLITE_NULL;

    public bool IsInteger(int column) => raw.sqlite3_column_type(_statement, column) == raw.SQLITE_INTEGER;

    public bool IsBlob(int column) => raw.sqlite3_column_type(_statement, column) == raw.SQLITE_BLOB;

    // The column's storage class as SQLite names it, for messages about damaged rows.
    public string TypeName(int column) => raw.sqlite3_column_type(_statement, column) switch
    {
        raw.SQLITE_INTEGER => "an integer",
        raw.SQLITE_FLOAT => "a real number",
        raw.SQLITE_TEXT => "text",
        raw.SQLITE_BLOB => "bytes",
        _ => "NULL",
    };

    // An integer column's value; anything else (NULL, text: a damaged row) is an InvalidCastException, as it is
    // from Microsoft.Data.Sqlite's reader, which the store reports as a damaged file.
    public long GetInt64(int column)
    {
        var type = raw.sqlite3_column_type(_statement, column);
        return type == raw.SQLITE_INTEGER
            ? raw.sqlite3_column_int64(_statement, column)
            : throw new InvalidCastException($"Column {column} holds {(type == raw.SQLITE_NULL ? "NULL" : "a value of SQLite type " + type)} where an integer must be.");
    }

    public long? GetNullableInt64(int column) => IsNull(column) ? null : GetInt64(column);

    // A text column's value; anything else (NULL, a number: a damaged row) is an InvalidCastException, as from a reader.
    public string GetString(int column)
    {
        var type = raw.sqlite3_column_type(_statement, column);
        return type == raw.SQLITE_TEXT
            ? Encoding.UTF8.GetString(raw.sqlite3_column_blob(_statement, column))
            : throw new InvalidCastException($"Column {column} holds {TypeName(column)} where text must be.");
    }

    // The column's bytes (a text column's UTF-8), valid until the next step or reset.
    public ReadOnlySpan<byte> GetBytes(int column) => raw.sqlite3_column_blob(_statement, column);

    public void Dispose() => _statement.Dispose();

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
