using System.Diagnostics;
using Durably.Postgres;
using Durably.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry.Trace;

namespace Durably.Aspire.Tests;

// The connection string as an Aspire app host hands it to a service (ConnectionStrings:durably in the configuration),
// a real host, a real SQLite file and the PostgreSQL server named by DURABLY_POSTGRES.
public sealed class AspireIntegrationTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-aspire-" + Guid.NewGuid().ToString("N"));

    public AspireIntegrationTests() => Directory.CreateDirectory(_folder);

    private HostApplicationBuilder NewBuilder(params KeyValuePair<string, string?>[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _folder, Args = [] });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    [Fact]
    public async Task AddDurablySqlite_ConnectionStringFromTheAppHost_RunsAWorkflowReportsHealthAndTracesTheRun()
    {
        var path = Path.Combine(_folder, "journal.db");
        var spans = new List<Activity>();
        var builder = NewBuilder(new("ConnectionStrings:durably", $"Data Source={path}"), new("Durably:PollInterval", "00:00:00.100"));
        builder.AddDurablySqlite("durably").AddWorkflow<int, int>("double", async (ctx, n) => await ctx.StepAsync("double", _ => Task.FromResult(n * 2)));
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
        using var host = builder.Build();
        await host.StartAsync();

        var runtime = host.Services.GetRequiredService<DurableRuntime>();
        Assert.Equal(path, Assert.IsType<SqliteJournalStore>(runtime.Store).Path);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = await runtime.Client.StartAsync("double", 21, new StartRunOptions { RunId = new RunId("aspire-sqlite") });
        Assert.Equal(42, await run.GetResultAsync<int>(timeout.Token));
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        await host.StopAsync();
        host.Services.GetRequiredService<TracerProvider>().ForceFlush();

        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.Equal(["durably-store", "durably-worker"], report.Entries.Keys.Order());
        Assert.Contains(spans, s => s.Source.Name == DurablyTelemetry.Name);
    }

    [Fact]
    public async Task AddDurablySqlite_DisabledInAspireSettings_RegistersNoHealthChecks()
    {
        var builder = NewBuilder(new("ConnectionStrings:journal", Path.Combine(_folder, "plain.db")), new("Aspire:Durably:DisableHealthChecks", "true"));
        builder.AddDurablySqlite("journal");
        using var host = builder.Build();

        Assert.Null(host.Services.GetService<HealthCheckService>());
        Assert.Equal(Path.Combine(_folder, "plain.db"), Assert.IsType<SqliteJournalStore>(host.Services.GetRequiredService<DurableRuntime>().Store).Path);
    }

    [Fact]
    public void AddDurablyPostgres_NoConnectionString_ThrowsNamingTheKey()
    {
        var builder = NewBuilder();

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddDurablyPostgres("durably"));

        Assert.Contains("ConnectionStrings:durably", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddDurablyPostgres_ConnectionStringFromTheAppHost_RunsAWorkflowAndReportsHealth()
    {
        var connectionString = Environment.GetEnvironmentVariable("DURABLY_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("DURABLY_POSTGRES is not set, so this test has no server. Run it through scripts/with-postgres.sh.");
        var schema = "asp_" + Guid.NewGuid().ToString("N")[..24];
        try
        {
            var builder = NewBuilder(new("ConnectionStrings:durably", connectionString), new("Durably:PollInterval", "00:00:00.100"));
            builder.AddDurablyPostgres("durably", configureStore: o => new PostgresJournalStoreOptions { ConnectionString = o.ConnectionString, Logger = o.Logger, SchemaMode = o.SchemaMode, Schema = schema })
                .AddWorkflow<int, int>("double", async (ctx, n) => await ctx.StepAsync("double", _ => Task.FromResult(n * 2)));
            using var host = builder.Build();
            await host.StartAsync();

            var runtime = host.Services.GetRequiredService<DurableRuntime>();
            Assert.IsType<PostgresJournalStore>(runtime.Store);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var run = await runtime.Client.StartAsync("double", 4, new StartRunOptions { RunId = new RunId("aspire-pg") });
            Assert.Equal(8, await run.GetResultAsync<int>(timeout.Token));
            Assert.Equal(HealthStatus.Healthy, (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Status);
            await host.StopAsync();
        }
        finally
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
