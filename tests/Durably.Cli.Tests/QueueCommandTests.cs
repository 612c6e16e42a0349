using System.Text.Json;
using Durably.Sqlite;
using Durably.Storage;

namespace Durably.Cli.Tests;

// `durably queues list|set` and the queue column of `durably runs list`, on a store where queue "models" (one at a time per
// key) has run m-1 running for tenant-a, and m-2 (tenant-a, held back by the per-key limit) and m-3 (tenant-b) queued.
public sealed class QueueCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task QueuesList_QueueWithRunningAndQueuedRuns_ShowsLimitsAndCountsInTextAndJson()
    {
        var store = await CreateAsync();

        var text = await Processes.DurablyAsync("queues", "list", "--store", store);
        var json = await Processes.DurablyAsync("queues", "list", "--store", store, "--json");

        Assert.Equal(0, text.ExitCode);
        Assert.Matches(@"QUEUE\s+CONCURRENCY\s+PER KEY\s+PER MINUTE\s+TOKENS/MIN\s+RUNNING\s+QUEUED\s+LIMITED\s+SUSPENDED\s+LAST MINUTE\s+TOKENS LAST MIN", text.Stdout);
        Assert.Matches(@"models\s+-\s+1\s+30\s+-\s+1\s+2\s+1\s+0\s+1\s+-", text.Stdout);
        Assert.Matches(@"idle \(paused\)\s+0\s+-\s+-\s+-\s+0\s+0\s+0\s+0\s+0\s+-", text.Stdout);
        Assert.Matches(@"budget\s+-\s+-\s+-\s+50,000\s+0\s+0\s+0\s+0\s+0\s+0", text.Stdout);
        using var document = JsonDocument.Parse(json.Stdout);
        var models = document.RootElement.GetProperty("queues").EnumerateArray().Single(q => q.GetProperty("definition").GetProperty("name").GetString() == "models");
        Assert.Equal(1, models.GetProperty("definition").GetProperty("maxConcurrencyPerKey").GetInt32());
        Assert.Equal((1, 2, 1), (models.GetProperty("running").GetInt32(), models.GetProperty("queued").GetInt32(), models.GetProperty("limited").GetInt32()));
    }

    [Fact]
    public async Task RunsList_RunsOnAQueue_ShowQueueAndKeyAndQueuedState()
    {
        var store = await CreateAsync();

        var text = await Processes.DurablyAsync("runs", "list", "--store", store);
        var json = await Processes.DurablyAsync("runs", "list", "--store", store, "--json");

        Assert.Equal(0, text.ExitCode);
        Assert.Matches(@"RUN\s+WORKFLOW\s+STATUS\s+UPDATED\s+QUEUE\s+DETAIL", text.Stdout);
        Assert.Matches(@"m-1\s+work\s+pending\s+\S+ \S+\s+models/tenant-a", text.Stdout);
        Assert.Matches(@"m-2\s+work\s+queued\s+\S+ \S+\s+models/tenant-a", text.Stdout);
        Assert.Matches(@"m-3\s+work\s+queued\s+\S+ \S+\s+models/tenant-b", text.Stdout);
        Assert.Matches(@"plain-1\s+work\s+pending\s+\S+ \S+\s+-", text.Stdout);
        using var document = JsonDocument.Parse(json.Stdout);
        var run = document.RootElement.GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("runId").GetString() == "m-2");
        Assert.Equal(("models", "tenant-a"), (run.GetProperty("queue").GetString(), run.GetProperty("queueKey").GetString()));
    }

    [Fact]
    public async Task QueuesSet_NewAndChangedLimits_StoredForEveryWorkerAndListed()
    {
        var store = _folder.File("set.db");
        await using (var created = await SqliteJournalStore.OpenAsync(store))
        {
        }

        var set = await Processes.DurablyAsync("queues", "set", "llm", "--concurrency", "4", "--per-key", "2", "--per-minute", "60", "--tokens-per-minute", "90000", "--rate-per-key", "--store", store);
        var changed = await Processes.DurablyAsync("queues", "set", "llm", "--concurrency", "8", "--store", store);

        Assert.Equal(0, set.ExitCode);
        Assert.Contains("Queue 'llm' set: concurrency 4, per key 2, per minute 60, tokens per minute 90,000 (rates per key).", set.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, changed.ExitCode);
        await using var reopened = await SqliteJournalStore.OpenAsync(store);
        Assert.Equal(new QueueDefinition("llm") { MaxConcurrency = 8 }, Assert.Single(await reopened.ListQueuesAsync()).Definition);
    }

    [Theory]
    [InlineData("--concurrency", "-1", "negative limit")]
    [InlineData("--tokens-per-minute", "-5", "negative limit")]
    [InlineData("--rate-per-key", null, "--rate-per-key needs --per-minute")]
    public async Task QueuesSet_BadLimits_Exits4SayingWhatIsWrong(string option, string? value, string message)
    {
        var store = _folder.File("bad.db");
        await using (var created = await SqliteJournalStore.OpenAsync(store))
        {
        }

        string[] args = value is null ? ["queues", "set", "llm", option, "--store", store] : ["queues", "set", "llm", option, value, "--store", store];
        var result = await Processes.DurablyAsync(args);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        await using var reopened = await SqliteJournalStore.OpenAsync(store);
        Assert.Empty(await reopened.ListQueuesAsync());
    }

    private Task<string> CreateAsync() => CreateAsync(_folder);

    // The store described at the top of the class, in the folder; returns its path.
    internal static async Task<string> CreateAsync(TempFolder folder)
    {
        var path = folder.File("queues.db");
        await using var store = await SqliteJournalStore.OpenAsync(path);
        var client = new DurableClient(store);
        await client.ConfigureQueueAsync(new QueueDefinition("models") { MaxConcurrencyPerKey = 1, RunsPerMinute = 30 });
        await client.ConfigureQueueAsync(new QueueDefinition("idle") { MaxConcurrency = 0, Paused = true });
        await client.ConfigureQueueAsync(new QueueDefinition("budget") { TokensPerMinute = 50_000 });
        await client.StartAsync("work", 1, new StartRunOptions { RunId = new RunId("m-1"), Queue = "models", QueueKey = "tenant-a" });
        await client.StartAsync("work", 2, new StartRunOptions { RunId = new RunId("m-2"), Queue = "models", QueueKey = "tenant-a" });
        await client.StartAsync("work", 0, new StartRunOptions { RunId = new RunId("plain-1") });

        // A worker (this test) takes m-1 and keeps it for an hour; plain-1 is claimed too, and released.
        var leases = await store.ClaimRunsAsync(new ClaimRequest { Owner = "cli-test", LeaseDuration = TimeSpan.FromHours(1) });
        Assert.Equal(["plain-1", "m-1"], leases.Select(l => l.RunId.Value));
        await store.ReleaseLeaseAsync(leases[0]);
        await client.StartAsync("work", 3, new StartRunOptions { RunId = new RunId("m-3"), Queue = "models", QueueKey = "tenant-b", Priority = -1 });
        return path;
    }
}
