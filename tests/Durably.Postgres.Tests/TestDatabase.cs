using Durably.Storage;
using Npgsql;

namespace Durably.Postgres.Tests;

// A schema of its own in the server named by DURABLY_POSTGRES, dropped when the test ends, so tests run in parallel.
internal sealed class TestDatabase : IAsyncDisposable
{
    public const string Variable = "DURABLY_POSTGRES";

    public TestDatabase()
    {
        Schema = "t_" + Guid.NewGuid().ToString("N")[..24];
    }

    public string Schema { get; }

    // Fails (never skips) when the server is not configured: a green run must mean the store was tested.
    public static string ConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException($"{Variable} is not set, so the PostgreSQL tests have no server. Run them through the script that starts a throwaway server: scripts/with-postgres.sh dotnet test tests/Durably.Postgres.Tests");

    public PostgresJournalStoreOptions Options(PostgresSchemaMode mode = PostgresSchemaMode.CreateOrUpdate, string? connectionString = null) => new()
    {
        ConnectionString = connectionString ?? ConnectionString,
        Schema = Schema,
        SchemaMode = mode,
    };

    public async Task<PostgresJournalStore> OpenStoreAsync(PostgresSchemaMode mode = PostgresSchemaMode.CreateOrUpdate)
        => await PostgresJournalStore.OpenAsync(Options(mode));

    public static async Task<NpgsqlConnection> ConnectAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var connection = await ConnectAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var connection = await ConnectAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 })
        {
            try
            {
                await ExecuteAsync($"DROP SCHEMA IF EXISTS {Schema} CASCADE");
            }
            catch (NpgsqlException)
            {
                // The server is what the test was about (or is gone); the schema is dropped with the cluster.
            }
        }
    }

    public static RunAppend Start(RunId id, RunStatus? status = null)
        => new(id, 0, [new Journal.RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "test", Input = Journal.Payload.FromJson("{}") }]) { Status = status };

    public static RunAppend Steps(RunId id, long from, int count = 1)
        => new(id, from, [.. Enumerable.Range(0, count).Select(i => (Journal.JournalEntry)new Journal.StepCompleted { Sequence = from + i, Timestamp = DateTimeOffset.UnixEpoch, Step = (int)(from + i), Result = Journal.Payload.FromJson($"{from + i}") })]);

    public static RunId NewId(string prefix = "r") => new($"{prefix}-{Guid.NewGuid():N}");
}
