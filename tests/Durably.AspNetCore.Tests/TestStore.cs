using Durably.AspNetCore.TestHost;
using Durably.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Durably.AspNetCore.Tests;

// A store the test and its child processes share: a fresh SQLite file, or a fresh schema on the PostgreSQL server in
// DURABLY_POSTGRES (the test fails, never skips, without one). Deleted or dropped when the test ends.
internal sealed class TestStore : IAsyncDisposable
{
    private readonly string? _folder;
    private readonly string? _schema;

    private TestStore(string name, IJournalStore store, string? folder, string? schema)
    {
        Name = name;
        Store = store;
        _folder = folder;
        _schema = schema;
    }

    // What the child processes are given: sqlite:PATH or pg:SCHEMA.
    public string Name { get; }

    public IJournalStore Store { get; }

    public static async Task<TestStore> CreateAsync(string kind)
    {
        if (kind == "sqlite")
        {
            var folder = Path.Combine(Path.GetTempPath(), "durably-watch-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            var name = "sqlite:" + Path.Combine(folder, "runs.db");
            return new TestStore(name, await Stores.OpenAsync(name), folder, null);
        }

        if (Environment.GetEnvironmentVariable("DURABLY_POSTGRES") is not { Length: > 0 })
        {
            throw new InvalidOperationException("DURABLY_POSTGRES is not set, so the PostgreSQL case has no server. Run the tests through scripts/with-postgres.sh dotnet test tests/Durably.AspNetCore.Tests");
        }

        var schema = "w_" + Guid.NewGuid().ToString("N")[..24];
        return new TestStore("pg:" + schema, await Stores.OpenAsync("pg:" + schema), null, schema);
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        if (_folder is not null)
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(_folder, recursive: true);
        }

        if (_schema is not null)
        {
            await using var connection = new NpgsqlConnection(Environment.GetEnvironmentVariable("DURABLY_POSTGRES"));
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
