using Durably.Scheduling;

namespace Durably.Sqlite.Tests;

// The README's schedules example, compiled and run: the region below is the README's code block, line for line, and the
// test fails when the two drift apart.
public sealed class ReadmeScheduleTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Schedules_ReadmeExample_SavesBothSchedulesAndTriggersOnce()
    {
        await using var store = await SqliteJournalStore.OpenAsync(_folder.File("agent.db"));
        await using var worker = new DurableRuntime(store);
        var client = new DurableClient(store);
        var mail = new Mail();

        // README schedules: begin
        // In code: saved into the store when the worker starts; every worker of the store fires it, each fire once.
        worker.Register<string, string>("digest", (ctx, team) => ctx.StepAsync("send", step => mail.SendDigestAsync(team, step.IdempotencyKey), StepOptions.IdempotentEffect));
        worker.AddSchedule(ScheduleDefinition.ForCron("digest-ops", "digest", "0 7 * * 1-5", "ops") with
        {
            TimeZone = "Europe/Oslo",         // 07:00 Oslo time, Monday to Friday
            Overlap = ScheduleOverlap.Skip,   // no new digest while the last one still runs
            CatchUp = CatchUpPolicy.Last,     // after downtime, only the latest missed digest
        });
        worker.AddSchedule(ScheduleDefinition.Every("digest-sre", "digest", TimeSpan.FromMinutes(15), "sre"));
        await worker.StartAsync();

        // From any process that opens the store, as `durably schedules list|show|pause|resume|trigger|delete` does.
        await client.Schedules.PauseAsync("digest-ops");
        var manual = await client.Schedules.TriggerAsync("digest-ops");   // run digest-ops@manual-1: one run per call, even when paused
        await client.Schedules.ResumeAsync("digest-ops");
        // README schedules: end

        Assert.Equal("digest-ops@manual-1", manual.RunId.Value);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal("sent to ops", await manual.GetResultAsync<string>(timeout.Token));
        Assert.Equal(["digest-ops", "digest-sre"], (await client.Schedules.ListAsync()).Select(s => s.ScheduleId));
        var ops = await client.Schedules.GetAsync("digest-ops");
        Assert.Equal(7, TimeZoneInfo.ConvertTime(ops.NextFireAt!.Value, TimeZoneInfo.FindSystemTimeZoneById("Europe/Oslo")).Hour);
        Assert.False(ops.Paused);
    }

    [Fact]
    public void Schedules_IsTheReadmeCodeBlock()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Durably.slnx")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("The repository root (Durably.slnx) is not above the test's folder.");
        }

        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var start = readme.IndexOf("```csharp", readme.IndexOf("## Schedules", StringComparison.Ordinal), StringComparison.Ordinal) + "```csharp".Length;
        var block = Lines(readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)]).Where(l => !l.StartsWith("using ", StringComparison.Ordinal));
        var source = File.ReadAllText(Path.Combine(root, "tests", "Durably.Sqlite.Tests", "ReadmeScheduleTests.cs"));
        var from = source.IndexOf("// README schedules: begin", StringComparison.Ordinal) + "// README schedules: begin".Length;
        var region = Lines(source[from..source.IndexOf("// README schedules: end", from, StringComparison.Ordinal)]);

        Assert.Equal(block, region);
    }

    private static List<string> Lines(string text) => [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];

    private sealed class Mail
    {
        public Task<string> SendDigestAsync(string team, string key) => Task.FromResult($"sent to {team}");
    }
}
