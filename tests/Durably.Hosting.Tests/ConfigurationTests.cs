using Durably.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Durably.Hosting.Tests;

// A real appsettings.json in the host's content root, read by a real host built with Host.CreateApplicationBuilder.
public sealed class ConfigurationTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-config-" + Guid.NewGuid().ToString("N"));

    public ConfigurationTests() => Directory.CreateDirectory(_folder);

    private string StorePath => Path.Combine(_folder, "journal.db");

    private IHost BuildHost(string appsettings, Action<HostApplicationBuilder>? configure = null)
    {
        File.WriteAllText(Path.Combine(_folder, "appsettings.json"), appsettings);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _folder, Args = [] });
        builder.Logging.ClearProviders();
        configure?.Invoke(builder);
        return builder.Build();
    }

    private static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    [Fact]
    public async Task AddDurably_AppsettingsJson_BindsTheOptionsOpensTheSqliteStoreAndRunsAWorkflow()
    {
        using var host = BuildHost($$"""
            {
              "Durably": {
                "WorkerId": "from-config",
                "MaxConcurrentRuns": 8,
                "LeaseDuration": "00:00:45",
                "PollInterval": "00:00:00.050",
                "Checkpoint": "PlanStep",
                "DefaultRetry": { "MaxAttempts": 5, "InitialDelay": "00:00:02" },
                "Sqlite": { "Path": {{Json(StorePath)}}, "Durability": "Normal", "BusyTimeout": "00:00:03" }
              }
            }
            """, b => b.AddDurably().AddWorkflow<string, string>("echo", async (ctx, text) => await ctx.StepAsync("echo", _ => Task.FromResult(text + "!"))));
        await host.StartAsync();

        var options = host.Services.GetRequiredService<IOptions<DurableRuntimeOptions>>().Value;
        var runtime = host.Services.GetRequiredService<DurableRuntime>();
        Assert.Same(options, runtime.Options);
        Assert.Equal("from-config", options.WorkerId);
        Assert.Equal(8, options.MaxConcurrentRuns);
        Assert.Equal(TimeSpan.FromSeconds(45), options.LeaseDuration);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.PollInterval);
        Assert.Equal(CheckpointPolicy.PlanStep, options.Checkpoint);
        Assert.Equal(5, options.DefaultRetry.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(2), options.DefaultRetry.InitialDelay);
        Assert.Equal(TimeSpan.FromMinutes(1), options.DefaultRetry.MaxDelay);
        Assert.Equal(3, RetryPolicy.Default.MaxAttempts);

        var sqlite = host.Services.GetRequiredService<IOptions<SqliteJournalStoreOptions>>().Value;
        Assert.Equal(SqliteDurability.Normal, sqlite.Durability);
        Assert.Equal(TimeSpan.FromSeconds(3), sqlite.BusyTimeout);
        var store = Assert.IsType<SqliteJournalStore>(runtime.Store);
        Assert.Equal(StorePath, store.Path);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = await runtime.Client.StartAsync("echo", "hi", new StartRunOptions { RunId = new RunId("configured") });
        Assert.Equal("hi!", await run.GetResultAsync<string>(timeout.Token));
        await host.StopAsync();
    }

    [Fact]
    public async Task AddDurably_NegativeLease_HostStartFailsNamingTheKey()
    {
        using var host = BuildHost($$"""
            { "Durably": { "LeaseDuration": "-00:00:05", "Sqlite": { "Path": {{Json(StorePath)}} } } }
            """, b => b.AddDurably());

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Durably:LeaseDuration is -00:00:05", error.Message, StringComparison.Ordinal);
        Assert.Contains("greater than zero", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(StorePath));
    }

    [Fact]
    public async Task AddDurably_ValuesNotOfTheirType_HostStartFailsNamingEveryKeyAndTheExpectedForm()
    {
        using var host = BuildHost($$"""
            { "Durably": { "PollInterval": "soon", "MaxConcurrentRuns": "many", "Checkpoint": "Sometimes", "Sqlite": { "Path": {{Json(StorePath)}} } } }
            """, b => b.AddDurably());

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Durably:PollInterval is 'soon', which is not a time span such as \"00:00:30\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("Durably:MaxConcurrentRuns is 'many', which is not a whole number", error.Message, StringComparison.Ordinal);
        Assert.Contains("Durably:Checkpoint is 'Sometimes', which is not one of EveryStep, PlanStep, DecisionPoint, Adaptive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddDurably_SqliteSectionWithoutPath_HostStartFailsNamingTheKey()
    {
        using var host = BuildHost("""{ "Durably": { "Sqlite": { "Durability": "Full" } } }""", b => b.AddDurably());

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Durably:Sqlite:Path is missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddDurably_BothStoresConfigured_HostStartFailsNamingBothSections()
    {
        using var host = BuildHost($$"""
            { "Durably": { "Sqlite": { "Path": {{Json(StorePath)}} }, "Postgres": { "ConnectionString": "Host=localhost" } } }
            """, b => b.AddDurably());

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Both Durably:Sqlite and Durably:Postgres are configured", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddDurably_PostgresConnectionStringNameMissing_HostStartFailsNamingTheKeyAndTheEntry()
    {
        using var host = BuildHost("""{ "Durably": { "Postgres": { "ConnectionStringName": "journal" } } }""", b => b.AddDurably());

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Durably:Postgres:ConnectionStringName is 'journal', but there is no connection string ConnectionStrings:journal", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddDurably_NoStore_HostStartFailsSayingHowToChooseOne()
    {
        using var host = BuildHost("""{ "Durably": { "WorkerId": "w" } }""", b => b.AddDurably());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("Durably:Sqlite:Path", error.Message, StringComparison.Ordinal);
        Assert.Contains("UseSqlite", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddDurably_LaterConfigurationSourcesAndCode_OverrideTheJsonInOrder()
    {
        using var host = BuildHost($$"""
            { "Durably": { "WorkerId": "from-json", "MaxConcurrentRuns": 4, "Sqlite": { "Path": {{Json(StorePath)}} } } }
            """, b =>
            {
                // As an environment variable Durably__MaxConcurrentRuns=6 would: a source added after appsettings.json.
                b.Configuration.AddInMemoryCollection([new("Durably:MaxConcurrentRuns", "6")]);
                b.AddDurably().ConfigureRuntime(o => new DurableRuntimeOptions { WorkerId = o.WorkerId + "-code", MaxConcurrentRuns = o.MaxConcurrentRuns });
            });
        await host.StartAsync();

        var options = host.Services.GetRequiredService<DurableRuntime>().Options;
        Assert.Equal("from-json-code", options.WorkerId);
        Assert.Equal(6, options.MaxConcurrentRuns);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddDurably_CodeOnlyOverload_StillWorksAndIsValidatedAtStart()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _folder, Args = [] });
        builder.Logging.ClearProviders();
        builder.Services.AddDurably(o => new DurableRuntimeOptions { WorkerId = "code", LeaseDuration = TimeSpan.FromSeconds(-1) }).UseSqlite(StorePath);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("DurableRuntimeOptions.LeaseDuration is -00:00:01", error.Message, StringComparison.Ordinal);
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
