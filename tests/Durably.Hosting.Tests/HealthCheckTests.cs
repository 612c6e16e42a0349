using Durably.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Durably.Hosting.Tests;

// AddDurably().AddHealthChecks() in a real host over a real SQLite file, read through HealthCheckService as a
// health endpoint would.
public sealed class HealthCheckTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-health-" + Guid.NewGuid().ToString("N"));

    private string StoreFolder => Path.Combine(_folder, "journal");

    private IHost BuildHost(Action<DurablyBuilder>? configure = null)
    {
        Directory.CreateDirectory(StoreFolder);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _folder, Args = [] });
        builder.Logging.ClearProviders();
        var durably = builder.Services
            .AddDurably(o => new DurableRuntimeOptions { WorkerId = "health-test", PollInterval = TimeSpan.FromMilliseconds(50) })
            .UseSqlite(Path.Combine(StoreFolder, "journal.db"))
            .AddHealthChecks();
        configure?.Invoke(durably);
        return builder.Build();
    }

    private static async Task<HealthReport> CheckAsync(IHost host)
        => await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    [Fact]
    public async Task AddHealthChecks_RunningHost_StoreAndWorkerHealthy()
    {
        using var host = BuildHost();
        await host.StartAsync();

        var report = await CheckAsync(host);

        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.Equal(["durably-store", "durably-worker"], report.Entries.Keys.Order());
        Assert.Contains("SqliteJournalStore", report.Entries["durably-store"].Description, StringComparison.Ordinal);
        Assert.Equal("health-test", report.Entries["durably-worker"].Data["worker"]);
        Assert.Equal("Running", report.Entries["durably-worker"].Data["state"]);
        Assert.Contains("durably", report.Entries["durably-worker"].Tags);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddHealthChecks_StoreFolderRemovedWhileRunning_StoreUnhealthyWithTheReason()
    {
        using var host = BuildHost();
        await host.StartAsync();
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);

        Directory.Delete(StoreFolder, recursive: true);
        var report = await CheckAsync(host);

        var store = report.Entries["durably-store"];
        Assert.Equal(HealthStatus.Unhealthy, store.Status);
        Assert.IsType<JournalStoreNotFoundException>(store.Exception);
        Assert.Contains("journal.db' is gone", store.Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddHealthChecks_HostNotStarted_WorkerUnhealthy()
    {
        using var host = BuildHost();

        var report = await CheckAsync(host);

        Assert.Equal(HealthStatus.Healthy, report.Entries["durably-store"].Status);
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["durably-worker"].Status);
        Assert.Contains("has not started", report.Entries["durably-worker"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddHealthChecks_WorkerStopping_DegradedThenUnhealthyOnceStopped()
    {
        var inStep = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = BuildHost(d => d.AddWorkflow<int, int>("slow", async (ctx, n) => await ctx.StepAsync("wait", async _ =>
        {
            inStep.TrySetResult();
            await release.Task;   // ignores cancellation: the stop waits for it
            return n;
        })));
        await host.StartAsync();
        var runtime = host.Services.GetRequiredService<DurableRuntime>();
        await runtime.Client.StartAsync("slow", 1, new StartRunOptions { RunId = new RunId("slow-run") });
        await inStep.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var stopping = runtime.StopAsync();
        var during = await CheckAsync(host);
        release.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        var after = await CheckAsync(host);

        Assert.Equal(HealthStatus.Degraded, during.Entries["durably-worker"].Status);
        Assert.Contains("is stopping", during.Entries["durably-worker"].Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Unhealthy, after.Entries["durably-worker"].Status);
        Assert.Contains("has stopped", after.Entries["durably-worker"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddHealthChecks_StoreCannotBeOpened_StoreUnhealthyWithTheStoreError()
    {
        Directory.CreateDirectory(_folder);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _folder, Args = [] });
        builder.Logging.ClearProviders();
        builder.Services.AddDurably().UseSqlite(Path.Combine(_folder, "missing", "journal.db"), o => new Sqlite.SqliteJournalStoreOptions { Path = o.Path, CreateIfMissing = false }).AddHealthChecks();
        using var host = builder.Build();

        var report = await CheckAsync(host);

        var store = report.Entries["durably-store"];
        Assert.Equal(HealthStatus.Unhealthy, store.Status);
        Assert.IsAssignableFrom<JournalStoreException>(store.Exception);
        Assert.StartsWith("The journal store failed: ", store.Description, StringComparison.Ordinal);
        Assert.Contains("does not exist", store.Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["durably-worker"].Status);
        Assert.Contains("could not be created", report.Entries["durably-worker"].Description, StringComparison.Ordinal);
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
