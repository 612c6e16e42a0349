using System.Collections.Concurrent;
using Durably.Storage;
using Durably.TestHost;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite.Tests;

// Queues with limits on a real SQLite file: two workers (each with its own store over the file, as two hosts would have)
// share one queue's slots; priorities decide the order; a debounce decided by the file's write transaction holds across
// two processes; a queue with limit 0 keeps its runs queued while the worker executes others.
public sealed class SqliteQueueTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private readonly List<IAsyncDisposable> _owned = [];

    private string PathOf => _folder.File("queues.db");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    [Fact]
    public async Task StartAsync_QueueOfTwoAndTwoWorkers_NeverMoreThanTwoRunAtOnceAndAllComplete()
    {
        var running = 0;
        var max = 0;
        var first = await WorkerAsync<int, int>("w1", Body);
        _ = await WorkerAsync<int, int>("w2", Body);
        await first.Client.ConfigureQueueAsync(new QueueDefinition("models") { MaxConcurrency = 2 });

        var handles = new List<RunHandle>();
        for (var i = 0; i < 10; i++)
        {
            handles.Add(await first.Client.StartAsync("work", i, new StartRunOptions { Queue = "models", QueueKey = $"user-{i % 3}" }));
        }

        foreach (var handle in handles)
        {
            await handle.GetResultAsync<int>(Timeout());
        }

        Assert.Equal(2, max);
        Assert.All(await first.Client.ListQueuesAsync(), q => Assert.Equal((0, 0), (q.Running, q.Queued)));

        async Task<int> Body(RunContext ctx, int input) => await ctx.StepAsync("call-model", async _ =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref max, now);
            await Task.Delay(50);
            Interlocked.Decrement(ref running);
            return input;
        });
    }

    [Fact]
    public async Task StartAsync_Priorities_TheWorkerExecutesHigherFirstThenOldest()
    {
        var order = new ConcurrentQueue<string>();
        var worker = await WorkerAsync<string, string>("w1", (ctx, name) => ctx.StepAsync("record", _ =>
        {
            order.Enqueue(name);
            return Task.FromResult(name);
        }));
        var client = worker.Client;

        // Paused while the runs are started, so the order is the queue's, not the order of the starts.
        await client.ConfigureQueueAsync(new QueueDefinition("ordered") { MaxConcurrency = 1, Paused = true });
        var names = new[] { ("low-old", 0), ("high", 5), ("low-new", 0), ("mid", 2) };
        var handles = new List<RunHandle>();
        foreach (var (name, priority) in names)
        {
            handles.Add(await client.StartAsync("work", name, new StartRunOptions { Queue = "ordered", Priority = priority }));
        }

        await client.ConfigureQueueAsync(new QueueDefinition("ordered") { MaxConcurrency = 1 });
        foreach (var handle in handles)
        {
            await handle.GetResultAsync<string>(Timeout());
        }

        Assert.Equal(["high", "mid", "low-old", "low-new"], order);
    }

    [Fact]
    public async Task StartAsync_QueueLimitZero_RunStaysQueuedWhileOtherRunsCompleteUntilTheLimitIsRaised()
    {
        var worker = await WorkerAsync<string, string>("w1", (_, input) => Task.FromResult(input));
        var client = worker.Client;
        await client.ConfigureQueueAsync(new QueueDefinition("held") { MaxConcurrency = 0 });
        var held = await client.StartAsync("work", "held", new StartRunOptions { Queue = "held" });

        // The worker is alive and claiming: unqueued runs started after the held one complete.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal($"free-{i}", await (await client.StartAsync("work", $"free-{i}")).GetResultAsync<string>(Timeout()));
        }

        var status = await held.GetStatusAsync();
        Assert.Equal((RunStatus.Pending, null, "held"), (status.Status, status.LeaseOwner, status.Queue));
        var state = Assert.Single(await client.ListQueuesAsync());
        Assert.Equal((0, 1, 1), (state.Running, state.Queued, state.Limited));

        await client.ConfigureQueueAsync(new QueueDefinition("held") { MaxConcurrency = 1 });
        Assert.Equal("held", await held.GetResultAsync<string>(Timeout()));
    }

    [Fact]
    public async Task StartAsync_DebounceFromTwoProcessesAtOnce_OneRunStartsAndEveryOtherStartMergesIntoIt()
    {
        await using (var store = await SqliteJournalStore.OpenAsync(PathOf))
        {
            await new DurableClient(store).ConfigureQueueAsync(new QueueDefinition("digest"));
        }

        using var a = ChildProcess.StartWithInput("queue-start", PathOf, "digest", "user-7", "3600000", "10", "a");
        using var b = ChildProcess.StartWithInput("queue-start", PathOf, "digest", "user-7", "3600000", "10", "b");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await Task.WhenAll(a.WaitForLineAsync("ready", timeout.Token), b.WaitForLineAsync("ready", timeout.Token));
        await Task.WhenAll(a.StandardInput.WriteLineAsync("go"), b.StandardInput.WriteLineAsync("go"));
        await a.StandardInput.FlushAsync();
        await b.StandardInput.FlushAsync();
        var lines = new List<string>();
        foreach (var child in new[] { a, b })
        {
            var output = await child.StandardOutput.ReadToEndAsync(timeout.Token);
            await child.WaitForExitAsync(timeout.Token);
            Assert.True(child.ExitCode == 0, $"queue-start exited {child.ExitCode}: {await child.StandardError.ReadToEndAsync(timeout.Token)}");
            lines.AddRange(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        var started = Assert.Single(lines, l => l.StartsWith("started ", StringComparison.Ordinal))["started ".Length..];
        var debounced = lines.Where(l => l.StartsWith("debounced ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToList();
        Assert.Equal(19, debounced.Count);
        Assert.All(debounced, d => Assert.Equal(started, d[2]));

        await using var reopened = await SqliteJournalStore.OpenAsync(PathOf);
        var runs = (await reopened.ListRunsAsync(new RunQuery())).Runs;
        Assert.Equal(started, Assert.Single(runs).RunId.Value);
        Assert.Equal(("digest", "user-7"), (runs[0].Queue, runs[0].QueueKey));

        // Every merged start's input reached the run as a signal it can read.
        var merged = await reopened.ReadSignalsAsync(runs[0].RunId);
        Assert.Equal(19, merged.Count);
        Assert.All(merged, s => Assert.Equal(("merged", "\"user-7\""), (s.Name, s.Payload!.ToString())));
    }

    [Fact]
    public async Task OpenAsync_FileFromBeforeQueues_GetsTheQueueSchemaAndKeepsItsRuns()
    {
        var old = new RunId("from-before");
        await using (var store = await SqliteJournalStore.OpenAsync(PathOf))
        {
            await new DurableClient(store).StartAsync("work", 1, new StartRunOptions { RunId = old });
        }

        // Make the file what an earlier version wrote: no queue table, indexes or columns.
        SqliteConnection.ClearAllPools();
        await using (var connection = new SqliteConnection($"Data Source={PathOf}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                DROP INDEX runs_queued; DROP INDEX runs_queue_window; DROP INDEX runs_queue_started; DROP TABLE queues; DROP TABLE queue_tokens;
                ALTER TABLE runs DROP COLUMN queue; ALTER TABLE runs DROP COLUMN queue_key; ALTER TABLE runs DROP COLUMN priority; ALTER TABLE runs DROP COLUMN first_dequeued_at;
                """;
            await command.ExecuteNonQueryAsync();
        }

        SqliteConnection.ClearAllPools();
        await using var reopened = await SqliteJournalStore.OpenAsync(PathOf);
        var client = new DurableClient(reopened);
        await client.ConfigureQueueAsync(new QueueDefinition("after") { MaxConcurrency = 1 });
        var queued = await client.StartAsync("work", 2, new StartRunOptions { Queue = "after" });

        Assert.Null((await reopened.GetRunAsync(old))!.Queue);
        Assert.Equal("after", (await queued.GetStatusAsync()).Queue);
        Assert.Equal(2, (await reopened.ClaimRunsAsync(new ClaimRequest { Owner = "w" })).Count);
    }

    [Fact]
    public async Task OpenAsync_FileWithQueuesFromBeforeTokenLimits_KeepsItsQueuesAndGetsTokenLimits()
    {
        await using (var store = await SqliteJournalStore.OpenAsync(PathOf))
        {
            await new DurableClient(store).ConfigureQueueAsync(new QueueDefinition("models") { MaxConcurrencyPerKey = 2, RunsPerMinute = 30 });
        }

        // Make the file what the first version with queues wrote: no token column, no token table.
        SqliteConnection.ClearAllPools();
        await using (var connection = new SqliteConnection($"Data Source={PathOf}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "DROP TABLE queue_tokens; ALTER TABLE queues DROP COLUMN tokens_per_minute;";
            await command.ExecuteNonQueryAsync();
        }

        SqliteConnection.ClearAllPools();
        await using var reopened = await SqliteJournalStore.OpenAsync(PathOf);
        var client = new DurableClient(reopened);
        Assert.Equal(new QueueDefinition("models") { MaxConcurrencyPerKey = 2, RunsPerMinute = 30 }, Assert.Single(await client.ListQueuesAsync()).Definition);
        await client.ConfigureQueueAsync(new QueueDefinition("models") { TokensPerMinute = 10_000 });
        Assert.Equal(10_000, Assert.Single(await client.ListQueuesAsync()).Definition.TokensPerMinute);
    }

    [Fact]
    public async Task StartAsync_TokensPerMinuteUsedUpByAModelStep_NextRunWaitsQueuedUntilTheLimitAllowsIt()
    {
        var executed = new ConcurrentQueue<string>();
        var worker = await WorkerAsync<string, string>("w1", (ctx, name) => ctx.StepAsync("call-model", step =>
        {
            executed.Enqueue(name);
            step.ReportUsage(new TokenUsage(900, 300));
            return Task.FromResult(name);
        }));
        var client = worker.Client;
        await client.ConfigureQueueAsync(new QueueDefinition("llm") { TokensPerMinute = 1_000 });

        var first = await client.StartAsync("work", "first", new StartRunOptions { Queue = "llm" });
        Assert.Equal("first", await first.GetResultAsync<string>(Timeout()));
        var second = await client.StartAsync("work", "second", new StartRunOptions { Queue = "llm" });

        // The worker polls every 50 ms: for a second it claims again and again, and the token limit holds the run back.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var state = Assert.Single(await client.ListQueuesAsync());
        Assert.Equal((1_200L, 1, 1), (state.TokensInWindow, state.Queued, state.Limited));
        Assert.Equal(RunStatus.Pending, (await second.GetStatusAsync()).Status);
        Assert.Equal(["first"], executed);

        // A larger budget lets it go at once.
        await client.ConfigureQueueAsync(new QueueDefinition("llm") { TokensPerMinute = 5_000 });
        Assert.Equal("second", await second.GetResultAsync<string>(Timeout()));
        Assert.Equal(2_400, Assert.Single(await client.ListQueuesAsync()).TokensInWindow);
    }

    [Fact]
    public async Task StartAsync_QueueOptionsWithoutQueueOrOnAStoreWithoutQueues_ThrowsSayingWhatToDo()
    {
        var store = await SqliteJournalStore.OpenAsync(PathOf);
        _owned.Add(store);
        var client = new DurableClient(store);
        var noQueue = await Assert.ThrowsAsync<ArgumentException>(() => client.StartAsync("work", 1, new StartRunOptions { QueueKey = "tenant" }));
        Assert.Contains("Set Queue", noQueue.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<QueueNotFoundException>(() => client.StartAsync("work", 1, new StartRunOptions { Queue = "missing" }));

        var plain = new DurableClient(new CountingStore(store));
        var unsupported = await Assert.ThrowsAsync<NotSupportedException>(() => plain.StartAsync("work", 1, new StartRunOptions { Queue = "any" }));
        Assert.Contains("IRunQueueStore", unsupported.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NotSupportedException>(() => plain.ListQueuesAsync());
    }

    private async Task<DurableRuntime> WorkerAsync<TIn, TOut>(string id, Func<RunContext, TIn, Task<TOut>> body)
    {
        var store = await SqliteJournalStore.OpenAsync(PathOf);
        _owned.Add(store);
        var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = id, PollInterval = TimeSpan.FromMilliseconds(50) });
        runtime.Register("work", body);
        _owned.Add(runtime);
        await runtime.StartAsync();
        return runtime;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;
}
