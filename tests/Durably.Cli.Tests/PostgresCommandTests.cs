using System.Text.Json;
using Durably.Postgres;
using Npgsql;

namespace Durably.Cli.Tests;

// The real tool against the PostgreSQL server named by DURABLY_POSTGRES (scripts/with-postgres.sh starts a throwaway one),
// while a worker in this process executes the runs.
public sealed class PostgresCommandTests : IAsyncLifetime
{
    private readonly string _schema = "cli_" + Guid.NewGuid().ToString("N")[..24];

    // Fails (never skips) when the server is not configured: a green run must mean the store was tested.
    private static string ConnectionString => Environment.GetEnvironmentVariable("DURABLY_POSTGRES") is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException("DURABLY_POSTGRES is not set, so the PostgreSQL CLI tests have no server. Run the tests through scripts/with-postgres.sh.");

    private static string Url
    {
        get
        {
            var settings = new NpgsqlConnectionStringBuilder(ConnectionString);
            return $"postgres://{Uri.EscapeDataString(settings.Username!)}@{settings.Host}:{settings.Port}/{settings.Database}";
        }
    }

    [Fact]
    public async Task Commands_PostgresUrlAndConnectionString_ListApproveAndShowARunAWorkerExecutes()
    {
        var runId = new RunId("pg-research-1");
        await using var store = await PostgresJournalStore.OpenAsync(new PostgresJournalStoreOptions { ConnectionString = ConnectionString, Schema = _schema, SchemaMode = PostgresSchemaMode.CreateOrUpdate });
        await using var worker = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "cli-test-worker", PollInterval = TimeSpan.FromMilliseconds(50) });
        AgentWorkflows.Register(worker);
        await worker.StartAsync();
        await worker.Client.StartAsync(AgentWorkflows.Research, "fencing tokens", new StartRunOptions { RunId = runId });
        await Stores.WaitForAsync(store, runId, r => r.StatusDetail?.Contains("approval:publish", StringComparison.Ordinal) == true);

        var list = await Processes.DurablyAsync("runs", "list", "--store", Url, "--schema", _schema, "--json");
        var approve = await Processes.DurablyAsync("approve", runId.Value, "publish", "--comment", "ship it", "--as", "ana", "--store", ConnectionString, "--schema", _schema);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var result = await worker.Client.GetResultAsync<string>(runId, timeout.Token);
        var show = await Processes.DurablyAsync("runs", "show", runId.Value, "--store", Url, "--schema", _schema);

        Assert.True(list.ExitCode == 0, list.ToString());
        var listed = Assert.Single(JsonDocument.Parse(list.Stdout).RootElement.GetProperty("runs").EnumerateArray());
        Assert.Equal((runId.Value, "suspended"), (listed.GetProperty("runId").GetString(), listed.GetProperty("status").GetString()));
        Assert.True(approve.ExitCode == 0, approve.ToString());
        Assert.Equal("published by ana: ship it", result);
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("approved by ana (\"ship it\")", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("completed", show.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Command_PostgresSchemaMissing_Exits5AndCreatesNothing()
    {
        var result = await Processes.DurablyAsync("runs", "list", "--store", Url, "--schema", _schema);

        Assert.Equal(5, result.ExitCode);
        Assert.Contains($"schema '{_schema}'", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("never creates or changes a schema", result.Stderr, StringComparison.Ordinal);
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_namespace WHERE nspname = $1", connection) { Parameters = { new() { Value = _schema } } };
        Assert.Equal(0L, await command.ExecuteScalarAsync());
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (Environment.GetEnvironmentVariable("DURABLY_POSTGRES") is { Length: > 0 })
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
