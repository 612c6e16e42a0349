using Durably.Storage;
using Durably.Tests.Scheduling;

namespace Durably.Tests.Runtime;

// DurableRuntime.AddQueue: queues registered in code and saved into the store at start-up.
public sealed class QueueRuntimeTests
{
    [Fact]
    public async Task AddQueue_StartAsync_SavesTheQueueAndItsLimitsHoldFromTheFirstClaim()
    {
        await using var store = new InMemoryJournalStore();
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "w1", PollInterval = TimeSpan.FromMilliseconds(20) });
        runtime.Register<string, string>("echo", (_, input) => Task.FromResult(input));
        runtime.AddQueue(new QueueDefinition("held") { MaxConcurrency = 0 });
        runtime.AddQueue(new QueueDefinition("open") { TokensPerMinute = 1_000 });

        await runtime.StartAsync();
        var held = await runtime.Client.StartAsync("echo", "waits", new StartRunOptions { Queue = "held" });
        var open = await runtime.Client.StartAsync("echo", "goes", new StartRunOptions { Queue = "open" });

        Assert.Equal("goes", await open.GetResultAsync<string>(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token));
        Assert.Equal(["held", "open"], (await runtime.Client.ListQueuesAsync()).Select(q => q.Definition.Name));
        Assert.Equal(RunStatus.Pending, (await held.GetStatusAsync()).Status);
        var heldQueue = Assert.Single(await runtime.Client.ListQueuesAsync(), q => q.Definition.Name == "held");
        Assert.Equal((0, 1, 1), (heldQueue.Running, heldQueue.Queued, heldQueue.Limited));
    }

    [Fact]
    public async Task AddQueue_InvalidDuplicateOrAfterStart_Throws()
    {
        await using var store = new InMemoryJournalStore();
        await using var runtime = new DurableRuntime(store);
        runtime.AddQueue(new QueueDefinition("llm") { MaxConcurrency = 2 });

        Assert.Throws<ArgumentException>(() => runtime.AddQueue(new QueueDefinition("llm") { MaxConcurrency = 3 }));
        Assert.Throws<ArgumentException>(() => runtime.AddQueue(new QueueDefinition("bad") { RunsPerMinute = -1 }));
        await runtime.StartAsync();
        var late = Assert.Throws<InvalidOperationException>(() => runtime.AddQueue(new QueueDefinition("late")));
        Assert.Contains("ConfigureQueueAsync", late.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_QueueOnAStoreWithoutQueues_ThrowsNotSupported()
    {
        await using var store = new ScheduleRuntimeTests.JournalOnlyStore(new InMemoryJournalStore());
        await using var runtime = new DurableRuntime(store);
        runtime.AddQueue(new QueueDefinition("llm"));

        var error = await Assert.ThrowsAsync<NotSupportedException>(() => runtime.StartAsync());
        Assert.Contains("IRunQueueStore", error.Message, StringComparison.Ordinal);
    }
}
