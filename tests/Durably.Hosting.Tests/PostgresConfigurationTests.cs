using Durably.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Durably.Hosting.Tests;

// The PostgreSQL store chosen by a real appsettings.json (a connection string name, as Aspire and most hosts give
// connection strings), against the server named by DURABLY_POSTGRES (scripts/with-postgres.sh starts one).
public sealed class PostgresConfigurationTests : IAsyncLifetime
{
    private readonly string _schema = "hc_" + Guid.NewGuid().ToString("N")[..24];
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-pgconfig-" + Guid.NewGuid().ToString("N"));

    // Fails (never skips) when the server is not configured: a green run must mean the store was tested.
    private static string ConnectionString => Environment.GetEnvironmentVariable("DURABLY_POSTGRES") is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException("DURABLY_POSTGRES is not set, so the PostgreSQL hosting tests have no server. Run the tests through scripts/with-postgres.sh.");

    [Fact]
    public async Task AddDurably_PostgresConnectionStringName_RunsAWorkflowAndReportsHealthUntilTheSchemaIsDropped()
    {
        Directory.CreateDirectory(_folder);
        File.WriteAllText(Path.Combine(_folder, "appsettings.json"), $$"""
            {
              "ConnectionStrings": { "journal": {{System.Text.Json.JsonSerializer.Serialize(ConnectionString)}} },
              "Durably": {
                "WorkerId": "pg-config",
                "PollInterval": "00:00:00.100",
                "Postgres": { "ConnectionStringName": "journal", "Schema": "{{_schema}}", "SchemaMode": "CreateOrUpdate", "MaxBatchSize": 64 }
              }
            }
            """);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _folder, Args = [] });
        builder.Logging.ClearProviders();
        builder.AddDurably()
            .AddWorkflow<int, int>("double", async (ctx, n) => await ctx.StepAsync("double", _ => Task.FromResult(n * 2)))
            .AddHealthChecks();
        using var host = builder.Build();
        await host.StartAsync();
        var runtime = host.Services.GetRequiredService<DurableRuntime>();
        var options = host.Services.GetRequiredService<IOptions<PostgresJournalStoreOptions>>().Value;
        Assert.Equal(_schema, options.Schema);
        Assert.Equal(64, options.MaxBatchSize);
        Assert.IsType<PostgresJournalStore>(runtime.Store);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = await runtime.Client.StartAsync("double", 21, new StartRunOptions { RunId = new RunId("pg-configured") });
        Assert.Equal(42, await run.GetResultAsync<int>(timeout.Token));
        var health = host.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA {_schema} CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }

        var report = await health.CheckHealthAsync();
        var store = report.Entries["durably-store"];
        Assert.Equal(HealthStatus.Unhealthy, store.Status);
        Assert.Contains("runs", store.Description, StringComparison.Ordinal);
        Assert.Contains("does not exist", store.Exception!.ToString(), StringComparison.Ordinal);
        await host.StopAsync();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }

        if (Environment.GetEnvironmentVariable("DURABLY_POSTGRES") is { Length: > 0 })
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
