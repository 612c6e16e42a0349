using Durably.Scheduling;
using Durably.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Durably.Hosting.Tests;

public sealed class ScheduleHostingTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-hosting-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task AddSchedule_HostStarts_SavesTheScheduleAndFiresIt()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddDurably(o => new DurableRuntimeOptions { WorkerId = "schedule-host", PollInterval = TimeSpan.FromMilliseconds(100) })
            .UseSqlite(Path.Combine(_folder, "journal.db"))
            .AddWorkflow<string, string>("digest", (ctx, team) => Task.FromResult($"digest for {team}"))
            .AddSchedule(ScheduleDefinition.ForCron("digest-every-second", "digest", "* * * * * *", "ops"));
        using var host = builder.Build();

        await host.StartAsync();
        var client = host.Services.GetRequiredService<DurableClient>();
        var stored = await client.Schedules.GetAsync("digest-every-second");
        Assert.Equal("digest", stored.Workflow);

        // The first fire is the next whole second after start-up; wait (real time, generously) for its run to finish.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        RunRecord? fired = null;
        while (fired is null)
        {
            fired = (await client.ListRunsAsync(new RunQuery { Statuses = [RunStatus.Completed] }, timeout.Token)).Runs.FirstOrDefault();
            await Task.Delay(50, timeout.Token);
        }

        Assert.True(ScheduleRunIds.TryParseFire(fired.RunId, out var scheduleId, out _));
        Assert.Equal("digest-every-second", scheduleId);
        Assert.Equal("digest for ops", await client.GetResultAsync<string>(fired.RunId, timeout.Token));
        await host.StopAsync();
    }

    [Fact]
    public void AddSchedule_InvalidDefinition_ThrowsWhenRegistered()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<ArgumentException>(() => services.AddDurably().AddSchedule(ScheduleDefinition.ForCron("bad", "digest", "61 * * * *")));
        Assert.Contains("cannot be read", error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
