using Durably.Postgres;
using Durably.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Durably.Hosting.Tests;

// AddDurably().UsePostgres(...) against the server named by DURABLY_POSTGRES (scripts/with-postgres.sh starts one).
public sealed class PostgresHostingTests : IAsyncLifetime
{
    private readonly string _schema = "h_" + Guid.NewGuid().ToString("N")[..24];

    // Fails (never skips) when the server is not configured: a green run must mean the store was tested.
    private static string ConnectionString => Environment.GetEnvironmentVariable("DURABLY_POSTGRES") is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException("DURABLY_POSTGRES is not set, so the PostgreSQL hosting tests have no server. Run the tests through scripts/with-postgres.sh.");

    [Fact]
    public async Task UsePostgres_UrlWithDefaultSchemaMode_CreatesTheSchemaAndRunsAWorkflowSignalledFromAnotherProcess()
    {
        var settings = new NpgsqlConnectionStringBuilder(ConnectionString);
        var url = $"postgres://{Uri.EscapeDataString(settings.Username!)}@{settings.Host}:{settings.Port}/{settings.Database}?application_name=hosting-test";
        var runId = new RunId("hosted-pg-run");
        using var host = BuildHost(url, o => new PostgresJournalStoreOptions { ConnectionString = o.ConnectionString, Logger = o.Logger, SchemaMode = o.SchemaMode, Schema = _schema });
        await host.StartAsync();
        var runtime = host.Services.GetRequiredService<DurableRuntime>();
        Assert.IsType<PostgresJournalStore>(runtime.Store);
        await runtime.Client.StartAsync(nameof(HostingTests.GreetingWorkflow), "Ana", new StartRunOptions { RunId = runId });
        await WaitForStatusAsync(runtime.Store, runId, RunStatus.Suspended);

        // Another process (here: another store on the same schema, which must exist already) delivers the signal.
        await using (var other = await PostgresJournalStore.OpenAsync(new PostgresJournalStoreOptions { ConnectionString = ConnectionString, Schema = _schema, SchemaMode = PostgresSchemaMode.Validate }))
        {
            var client = new DurableClient(other);
            await client.SignalAsync(runId, "title", "Dr.");
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Assert.Equal("Hello, Dr. Ana", await runtime.Client.GetResultAsync<string>(runId, timeout.Token));
        await host.StopAsync();
    }

    [Fact]
    public async Task UsePostgres_ValidateOnEmptySchema_HostFailsToStartAndCreatesNothing()
    {
        using var host = BuildHost(ConnectionString, o => new PostgresJournalStoreOptions { ConnectionString = o.ConnectionString, SchemaMode = PostgresSchemaMode.Validate, Schema = _schema });

        var ex = await Assert.ThrowsAsync<JournalStoreNotFoundException>(() => host.StartAsync());

        Assert.Contains($"schema '{_schema}'", ex.Message, StringComparison.Ordinal);
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_namespace WHERE nspname = $1", connection) { Parameters = { new() { Value = _schema } } };
        Assert.Equal(0L, await command.ExecuteScalarAsync());
    }

    private static IHost BuildHost(string connectionString, Func<PostgresJournalStoreOptions, PostgresJournalStoreOptions> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<HostingTests.Greeter>();
        builder.Services
            .AddDurably(o => new DurableRuntimeOptions { WorkerId = "hosting-pg-test", PollInterval = TimeSpan.FromMilliseconds(50) })
            .UsePostgres(connectionString, configure)
            .AddWorkflow<HostingTests.GreetingWorkflow, string, string>();
        return builder.Build();
    }

    private static async Task WaitForStatusAsync(IJournalStore store, RunId runId, RunStatus status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await store.GetRunAsync(runId))?.Status != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"run {runId} did not become {status}");
            await Task.Delay(20);
        }
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
