using System.Text.Json;
using Durably.Scheduling;
using Durably.Sqlite;

namespace Durably.Cli.Tests;

// durably schedules list | show | pause | resume | trigger | delete, the real tool against a SQLite journal with schedules.
public sealed class ScheduleCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    private string Store => _folder.File("schedules.db");

    public void Dispose() => _folder.Dispose();

    private async Task CreateAsync()
    {
        await using var store = await SqliteJournalStore.OpenAsync(Store);
        var client = new DurableClient(store);
        await client.Schedules.SaveAsync(ScheduleDefinition.ForCron("nightly-report", "report", "0 2 * * *", new { team = "ops" }) with { TimeZone = "Europe/Oslo", CatchUp = CatchUpPolicy.All(3) });
        await client.Schedules.SaveAsync(ScheduleDefinition.Every("heartbeat", "ping", TimeSpan.FromMinutes(15)) with { Overlap = ScheduleOverlap.AllowAll });
    }

    [Fact]
    public async Task SchedulesList_StoreWithSchedules_ListsTimingStateAndNextFire()
    {
        await CreateAsync();

        var text = await Processes.DurablyAsync("schedules", "list", "--store", Store);
        var json = await Processes.DurablyAsync("schedules", "list", "--store", Store, "--json");

        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Matches(@"heartbeat\s+ping\s+every 15m\s+active\s+\d{4}-\d\d-\d\d \d\d:\d\d:00Z\s+-\s+-", text.Stdout);
        Assert.Matches(@"nightly-report\s+report\s+cron '0 2 \* \* \*' Europe/Oslo\s+active", text.Stdout);
        using var parsed = JsonDocument.Parse(json.Stdout);
        var schedules = parsed.RootElement.GetProperty("schedules").EnumerateArray().ToList();
        Assert.Equal(["heartbeat", "nightly-report"], schedules.Select(s => s.GetProperty("scheduleId").GetString()));
        Assert.Equal(900, schedules[0].GetProperty("intervalSeconds").GetDouble());
        Assert.Equal("allow-all", schedules[0].GetProperty("overlap").GetString());
        Assert.Equal("ops", schedules[1].GetProperty("input").GetProperty("team").GetString());
        Assert.Equal("all", schedules[1].GetProperty("catchUp").GetProperty("mode").GetString());
    }

    [Fact]
    public async Task SchedulesPauseResumeTriggerDelete_ChangeTheStoredScheduleAndStartARun()
    {
        await CreateAsync();

        var pause = await Processes.DurablyAsync("schedules", "pause", "nightly-report", "--store", Store);
        var paused = await Processes.DurablyAsync("schedules", "show", "nightly-report", "--store", Store);
        var trigger = await Processes.DurablyAsync("schedules", "trigger", "nightly-report", "--store", Store, "--json");
        var resume = await Processes.DurablyAsync("schedules", "resume", "nightly-report", "--store", Store);
        var delete = await Processes.DurablyAsync("schedules", "delete", "heartbeat", "--store", Store);

        Assert.True(pause.ExitCode == 0, pause.ToString());
        Assert.Contains("Paused schedule nightly-report.", pause.Stdout, StringComparison.Ordinal);
        Assert.Contains("State     paused", paused.Stdout, StringComparison.Ordinal);
        Assert.Contains("Catch-up  all, up to 3", paused.Stdout, StringComparison.Ordinal);
        Assert.True(trigger.ExitCode == 0, trigger.ToString());
        Assert.Equal("nightly-report@manual-1", JsonDocument.Parse(trigger.Stdout).RootElement.GetProperty("runId").GetString());
        Assert.Matches(@"Resumed schedule nightly-report; next fire \d{4}-\d\d-\d\d 0[01]:00:00Z\.", resume.Stdout);
        Assert.Contains("Deleted schedule heartbeat.", delete.Stdout, StringComparison.Ordinal);

        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = Store, CreateIfMissing = false });
        var run = await store.GetRunAsync(new RunId("nightly-report@manual-1"));
        Assert.Equal("report", run!.Workflow);
        var left = await new DurableClient(store).Schedules.ListAsync();
        var nightly = Assert.Single(left);
        Assert.False(nightly.Paused);
        Assert.Equal(1, nightly.TriggerCount);
    }

    [Fact]
    public async Task Schedules_UnknownId_Exits3NamingIt()
    {
        await CreateAsync();

        foreach (var verb in new[] { "show", "pause", "resume", "trigger", "delete" })
        {
            var result = await Processes.DurablyAsync("schedules", verb, "no-such", "--store", Store);

            Assert.True(result.ExitCode == 3, result.ToString());
            Assert.Contains("No schedule 'no-such'", result.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SchedulesList_NoSchedules_SaysSo()
    {
        await (await SqliteJournalStore.OpenAsync(Store)).DisposeAsync();

        var result = await Processes.DurablyAsync("schedules", "list", "--store", Store);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("No schedules.", result.Stdout, StringComparison.Ordinal);
    }
}
