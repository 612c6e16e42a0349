using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Durably.Hosting.Tests;

// Queues registered with AddDurably().AddQueue(...), saved into a real SQLite file when the host starts.
public sealed class QueueHostingTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-hosting-" + Guid.NewGuid().ToString("N"));

    private string Journal => Path.Combine(_folder, "journal.db");

    [Fact]
    public async Task AddQueue_HostStarts_SavesTheQueueBeforeItsFirstClaimAndRunsWithinIt()
    {
        Directory.CreateDirectory(_folder);
        using var host = Build(new QueueDefinition("llm") { MaxConcurrency = 1, TokensPerMinute = 50_000 });

        await host.StartAsync();
        var client = host.Services.GetRequiredService<DurableClient>();
        var state = Assert.Single(await client.ListQueuesAsync());
        Assert.Equal(new QueueDefinition("llm") { MaxConcurrency = 1, TokensPerMinute = 50_000 }, state.Definition);
        var run = await client.StartAsync("echo", "hello", new StartRunOptions { Queue = "llm", QueueKey = "tenant-a" });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal("hello", await run.GetResultAsync<string>(timeout.Token));
        await host.StopAsync();
    }

    [Fact]
    public async Task AddQueue_StoredQueueChangedAndPausedByAnOperator_CodeLimitsReplaceItAndThePauseIsKept()
    {
        Directory.CreateDirectory(_folder);
        await using (var store = await SqliteJournalStore.OpenAsync(Journal))
        {
            await new DurableClient(store).ConfigureQueueAsync(new QueueDefinition("llm") { MaxConcurrency = 9, Paused = true });
        }

        using var host = Build(new QueueDefinition("llm") { MaxConcurrency = 2, RunsPerMinute = 60 });
        await host.StartAsync();
        var client = host.Services.GetRequiredService<DurableClient>();

        Assert.Equal(new QueueDefinition("llm") { MaxConcurrency = 2, RunsPerMinute = 60, Paused = true }, Assert.Single(await client.ListQueuesAsync()).Definition);
        await host.StopAsync();
    }

    [Fact]
    public void AddQueue_InvalidDefinition_ThrowsWhenRegistered()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<ArgumentException>(() => services.AddDurably().AddQueue(new QueueDefinition("llm") { TokensPerMinute = -1 }));
        Assert.Contains("negative limit", error.Message, StringComparison.Ordinal);
    }

    private IHost Build(QueueDefinition queue)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddDurably(o => new DurableRuntimeOptions { WorkerId = "queue-host", PollInterval = TimeSpan.FromMilliseconds(100) })
            .UseSqlite(Journal)
            .AddWorkflow<string, string>("echo", (_, input) => Task.FromResult(input))
            .AddQueue(queue);
        return builder.Build();
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
