using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Durably.Testing;

/// <summary>Defines the contract of a store that keeps queues with limits (<see cref="IRunQueueStore"/>); subclass it once per such store.</summary>
/// <remarks>
/// Each test creates a fresh, empty store through <see cref="CreateStoreAsync"/>; it must implement <see cref="IRunQueueStore"/>.
/// Stores whose clock can be driven should use <see cref="Clock"/>; stores on a server clock override <see cref="AdvanceClockAsync"/>
/// so that leases, wake-ups, first dequeues and creation times all move back by the same amount.
/// </remarks>
public abstract class RunQueueStoreComplianceTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);

    /// <summary>Gets a fake clock starting at a fixed instant, for stores that accept a <see cref="TimeProvider"/>.</summary>
    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Creates a fresh, empty store that implements <see cref="IRunQueueStore"/>.</summary>
    protected abstract Task<IJournalStore> CreateStoreAsync();

    /// <summary>Moves the store's clock forward (by default <see cref="Clock"/>).</summary>
    protected virtual Task AdvanceClockAsync(TimeSpan by)
    {
        Clock.Advance(by);
        return Task.CompletedTask;
    }

    private static DateTimeOffset Ms(long offset) => DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000 + offset);

    private static RunAppend Start(RunId runId)
        => new(runId, 0, [new RunStarted { Sequence = 0, Timestamp = Ms(0), Workflow = "queued", WorkflowVersion = 1, Input = Payload.FromJson("{}") }]) { Status = RunStatus.Pending };

    private static RunId NewId(string name) => new($"{name}-{Guid.NewGuid():N}");

    private static ClaimRequest Claim(string owner, int max = 16) => new() { Owner = owner, MaxRuns = max, LeaseDuration = Lease };

    private static async Task<RunId> StartAsync(IJournalStore store, string queue, string name, string? key = null, int priority = 0)
    {
        var id = NewId(name);
        var started = await ((IRunQueueStore)store).StartQueuedRunAsync(Start(id), new QueuePlacement(queue) { Key = key, Priority = priority });
        Assert.Equal(new QueuedStart(id, QueuedStartOutcome.Started), started);
        return id;
    }

    private static Task ConfigureAsync(IJournalStore store, QueueDefinition definition) => ((IRunQueueStore)store).ConfigureQueueAsync(definition);

    // Ends a run the way a worker does: its last append finishes it, which frees its lease and so its slot.
    private static async Task FinishAsync(IJournalStore store, RunLease lease)
    {
        var next = (await store.GetRunAsync(lease.RunId))!.NextSequence;
        await store.AppendAsync(new RunAppend(lease.RunId, next, [new RunCompleted { Sequence = next, Timestamp = Ms(next), Result = Payload.FromJson("1") }]) { Status = RunStatus.Completed, LeaseEpoch = lease.Epoch });
    }

    // Suspends a run the way a worker does: the append, then the lease is released.
    private static async Task SuspendAsync(IJournalStore store, RunLease lease, DateTimeOffset? wakeAt)
    {
        await store.AppendAsync(new RunAppend(lease.RunId, 1, [new TimerStarted { Sequence = 1, Timestamp = Ms(1), Step = 1, DueAt = wakeAt ?? Ms(1) }]) { Status = RunStatus.Suspended, WakeAt = wakeAt, StatusDetail = "timer", LeaseEpoch = lease.Epoch });
        await store.ReleaseLeaseAsync(lease);
    }

    // Appends a model step's completion with its token usage, the way a worker does after the model answered.
    private static Task CompleteModelStepAsync(IJournalStore store, RunLease lease, long sequence, TokenUsage usage)
        => store.AppendAsync(new RunAppend(lease.RunId, sequence, [new StepCompleted { Sequence = sequence, Timestamp = Ms(sequence), Step = (int)sequence, Result = Payload.FromJson("\"answer\""), Usage = usage }]) { LeaseEpoch = lease.Epoch }).AsTask();

    private static string Name() => "q-" + Guid.NewGuid().ToString("N")[..12];

    // The test names say what each test checks (Method_Scenario_Expected).
#pragma warning disable CS1591
    [Fact]
    public async Task ClaimRunsAsync_GlobalConcurrencyTwo_LeasesTwoAcrossWorkersUntilOneFinishes()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { MaxConcurrency = 2 });
        var ids = new[] { await StartAsync(store, queue, "a"), await StartAsync(store, queue, "b"), await StartAsync(store, queue, "c") };

        var first = await store.ClaimRunsAsync(Claim("w1"));
        Assert.Equal(ids[..2], first.Select(l => l.RunId));
        Assert.Empty(await store.ClaimRunsAsync(Claim("w2")));
        Assert.Null(await store.TryClaimRunAsync(ids[2], "w2", Lease));

        await FinishAsync(store, first[0]);
        Assert.Equal(ids[2], Assert.Single(await store.ClaimRunsAsync(Claim("w2"))).RunId);
    }

    [Fact]
    public async Task ClaimRunsAsync_PerKeyConcurrencyOne_HoldsBackOnlyTheBusyKey()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { MaxConcurrencyPerKey = 1 });
        var a1 = await StartAsync(store, queue, "a1", key: "tenant-a");
        _ = await StartAsync(store, queue, "a2", key: "tenant-a");
        var b1 = await StartAsync(store, queue, "b1", key: "tenant-b");

        var leased = await store.ClaimRunsAsync(Claim("w1"));

        Assert.Equal([a1, b1], leased.Select(l => l.RunId));
        Assert.Empty(await store.ClaimRunsAsync(Claim("w2")));
    }

    [Fact]
    public async Task ClaimRunsAsync_RunsPerMinuteTwo_DequeuesTwoThenOneMoreAfterTheWindow()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { RunsPerMinute = 2 });
        _ = await StartAsync(store, queue, "a");
        _ = await StartAsync(store, queue, "b");
        var c = await StartAsync(store, queue, "c");

        var first = await store.ClaimRunsAsync(Claim("w1"));
        Assert.Equal(2, first.Count);
        foreach (var lease in first)
        {
            await FinishAsync(store, lease);
        }

        // Finished runs hold no slot, but they were dequeued within the minute.
        Assert.Empty(await store.ClaimRunsAsync(Claim("w1")));
        await AdvanceClockAsync(TimeSpan.FromSeconds(61));
        Assert.Equal(c, Assert.Single(await store.ClaimRunsAsync(Claim("w1"))).RunId);
    }

    [Fact]
    public async Task ClaimRunsAsync_RateLimitUsedUp_ResumingRunIsNotHeldBack()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { RunsPerMinute = 1 });
        var a = await StartAsync(store, queue, "a");
        _ = await StartAsync(store, queue, "b");
        var lease = Assert.Single(await store.ClaimRunsAsync(Claim("w1")));
        await SuspendAsync(store, lease, wakeAt: Ms(0));

        // The window is used up by a's first dequeue; a's resumption is not a first dequeue.
        Assert.Equal(a, Assert.Single(await store.ClaimRunsAsync(Claim("w1"))).RunId);
    }

    [Fact]
    public async Task ClaimRunsAsync_TokensPerMinuteUsedUp_HoldsBackNewAndResumingRunsUntilTheWindowMovesOn()
    {
        await using var store = await CreateStoreAsync();
        var queues = (IRunQueueStore)store;
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { TokensPerMinute = 1_000 });
        var a = await StartAsync(store, queue, "a");
        var b = await StartAsync(store, queue, "b");
        var lease = Assert.Single(await store.ClaimRunsAsync(Claim("w1", max: 1)));
        Assert.Equal(a, lease.RunId);

        // a's model step used 1,100 tokens, then a suspended until a time already due: it is ready to resume.
        await CompleteModelStepAsync(store, lease, 1, new TokenUsage(600, 500));
        await store.AppendAsync(new RunAppend(a, 2, [new TimerStarted { Sequence = 2, Timestamp = Ms(2), Step = 2, DueAt = Ms(0) }]) { Status = RunStatus.Suspended, WakeAt = Ms(0), StatusDetail = "timer", LeaseEpoch = lease.Epoch });
        await store.ReleaseLeaseAsync(lease);

        Assert.Empty(await store.ClaimRunsAsync(Claim("w2")));
        Assert.Null(await store.TryClaimRunAsync(b, "w2", Lease));
        var state = Assert.Single(await queues.ListQueuesAsync(), q => q.Definition.Name == queue);
        Assert.Equal((1_100L, 2, 2), (state.TokensInWindow, state.Queued, state.Limited));

        await AdvanceClockAsync(TimeSpan.FromSeconds(61));
        Assert.Equal([a, b], (await store.ClaimRunsAsync(Claim("w2"))).Select(l => l.RunId));
        Assert.Equal(0, Assert.Single(await queues.ListQueuesAsync(), q => q.Definition.Name == queue).TokensInWindow);
    }

    [Fact]
    public async Task ClaimRunsAsync_TokensPerMinutePerKey_HoldsBackOnlyTheKeyThatUsedItsTokens()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { TokensPerMinute = 100, RateLimitPerKey = true });
        var a1 = await StartAsync(store, queue, "a1", key: "tenant-a");
        var lease = Assert.Single(await store.ClaimRunsAsync(Claim("w1")));
        await CompleteModelStepAsync(store, lease, 1, new TokenUsage(70, 30));
        await FinishAsync(store, lease);
        var a2 = await StartAsync(store, queue, "a2", key: "tenant-a");
        var b1 = await StartAsync(store, queue, "b1", key: "tenant-b");

        Assert.Equal(b1, Assert.Single(await store.ClaimRunsAsync(Claim("w1"))).RunId);
        Assert.Null(await store.TryClaimRunAsync(a2, "w1", Lease));
        Assert.Equal(a1, lease.RunId);
    }

    [Fact]
    public async Task AppendAsync_ForkCacheHitOrQueueWithoutTokenLimit_RecordsNoTokens()
    {
        await using var store = await CreateStoreAsync();
        var queues = (IRunQueueStore)store;
        var limited = Name();
        var unlimited = Name();
        await ConfigureAsync(store, new QueueDefinition(limited) { TokensPerMinute = 100 });
        await ConfigureAsync(store, new QueueDefinition(unlimited));
        _ = await StartAsync(store, limited, "cached");
        var cached = Assert.Single(await store.ClaimRunsAsync(Claim("w1")));
        _ = await StartAsync(store, unlimited, "free");
        var free = Assert.Single(await store.ClaimRunsAsync(Claim("w1")));

        // A fork's cache hit called no model; a queue without a token limit keeps no count.
        await store.AppendAsync(new RunAppend(cached.RunId, 1, [new StepCompleted { Sequence = 1, Timestamp = Ms(1), Step = 1, Usage = new TokenUsage(500, 500), ResolvedBy = "fork-cache:source-run" }]) { LeaseEpoch = cached.Epoch });
        await CompleteModelStepAsync(store, free, 1, new TokenUsage(500, 500));
        var next = await StartAsync(store, limited, "next");

        Assert.Equal(next, Assert.Single(await store.ClaimRunsAsync(Claim("w1"))).RunId);
        Assert.All(await queues.ListQueuesAsync(), q => Assert.Equal(0, q.TokensInWindow));

        // Given a token limit later, the queue counts from then on.
        await ConfigureAsync(store, new QueueDefinition(unlimited) { TokensPerMinute = 100 });
        await CompleteModelStepAsync(store, free, 2, new TokenUsage(40, 2));
        Assert.Equal(42, Assert.Single(await queues.ListQueuesAsync(), q => q.Definition.Name == unlimited).TokensInWindow);
    }

    [Fact]
    public async Task AppendAsync_LeaseLost_RecordsNoTokens()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { TokensPerMinute = 100 });
        _ = await StartAsync(store, queue, "a");
        var stale = Assert.Single(await store.ClaimRunsAsync(Claim("w1")));
        var current = Assert.Single(await store.ClaimRunsAsync(Claim("w1") with { IncludeOwnLeases = true }));

        // The holder of the old lease wrote nothing, so its model step counts for nothing; the current holder's does.
        await Assert.ThrowsAsync<LeaseLostException>(() => CompleteModelStepAsync(store, stale, 1, new TokenUsage(400, 100)));
        Assert.Equal(0, Assert.Single(await ((IRunQueueStore)store).ListQueuesAsync(), q => q.Definition.Name == queue).TokensInWindow);
        await CompleteModelStepAsync(store, current, 1, new TokenUsage(60, 10));
        Assert.Equal(70, Assert.Single(await ((IRunQueueStore)store).ListQueuesAsync(), q => q.Definition.Name == queue).TokensInWindow);
    }

    [Fact]
    public async Task ClaimRunsAsync_Priorities_HigherFirstThenResumedThenOldest()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { MaxConcurrency = 1 });
        var resumed = await StartAsync(store, queue, "resumed");
        var lease = Assert.Single(await store.ClaimRunsAsync(Claim("w1")));
        await SuspendAsync(store, lease, wakeAt: Ms(0));
        var low = await StartAsync(store, queue, "low");
        var high = await StartAsync(store, queue, "high", priority: 5);
        var newer = await StartAsync(store, queue, "newer");

        var order = new List<RunId>();
        for (var i = 0; i < 4; i++)
        {
            var next = Assert.Single(await store.ClaimRunsAsync(Claim("w1")));
            order.Add(next.RunId);
            await FinishAsync(store, next);
        }

        Assert.Equal([high, resumed, low, newer], order);
    }

    [Fact]
    public async Task TryClaimRunAsync_QueuedRunBehindHigherPriority_ReturnsNullAndLeavesItQueued()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { MaxConcurrency = 1 });
        var low = await StartAsync(store, queue, "low");
        var high = await StartAsync(store, queue, "high", priority: 1);

        Assert.Null(await store.TryClaimRunAsync(low, "w1", Lease));
        var lease = await store.TryClaimRunAsync(high, "w1", Lease);

        Assert.Equal(high, lease!.RunId);
        Assert.Null(await store.TryClaimRunAsync(low, "w2", Lease));
        Assert.Null((await store.GetRunAsync(low))!.LeaseOwner);
    }

    [Fact]
    public async Task ClaimRunsAsync_SuspendedRunFreesItsSlot_AndNeedsOneToResume()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { MaxConcurrency = 1 });
        var a = await StartAsync(store, queue, "a");
        var b = await StartAsync(store, queue, "b");
        var first = Assert.Single(await store.ClaimRunsAsync(Claim("w1")));
        Assert.Equal(a, first.RunId);
        await SuspendAsync(store, first, wakeAt: Ms(0) + TimeSpan.FromDays(1000));

        var second = Assert.Single(await store.ClaimRunsAsync(Claim("w2")));
        Assert.Equal(b, second.RunId);

        // a is woken (a signal) while b holds the only slot: it waits for b.
        _ = await store.DeliverSignalAsync(a, new SignalMessage("go", null));
        Assert.Empty(await store.ClaimRunsAsync(Claim("w1")));
        Assert.Null(await store.TryClaimRunAsync(a, "w1", Lease));
        await FinishAsync(store, second);
        Assert.Equal(a, Assert.Single(await store.ClaimRunsAsync(Claim("w1"))).RunId);
    }

    [Fact]
    public async Task ClaimRunsAsync_HolderStopsRenewing_SlotHeldUntilTheLeaseExpires()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { MaxConcurrency = 1 });
        var a = await StartAsync(store, queue, "a");
        _ = await StartAsync(store, queue, "b");
        var held = Assert.Single(await store.ClaimRunsAsync(Claim("w1")));

        Assert.Empty(await store.ClaimRunsAsync(Claim("w2")));
        await AdvanceClockAsync(Lease + TimeSpan.FromSeconds(1));

        // The dead holder's run resumes first (it was dequeued before); the limit still holds: one at a time.
        var takeover = Assert.Single(await store.ClaimRunsAsync(Claim("w2")));
        Assert.Equal(a, takeover.RunId);
        Assert.True(takeover.Epoch > held.Epoch);
    }

    [Fact]
    public async Task ClaimRunsAsync_LimitZeroOrPaused_RunStaysQueuedAndIsCountedLimited()
    {
        await using var store = await CreateStoreAsync();
        var zero = Name();
        var paused = Name();
        await ConfigureAsync(store, new QueueDefinition(zero) { MaxConcurrency = 0 });
        await ConfigureAsync(store, new QueueDefinition(paused) { Paused = true });
        var held = await StartAsync(store, zero, "zero");
        var pausedRun = await StartAsync(store, paused, "paused");
        var free = NewId("unqueued");
        await store.AppendAsync(Start(free));

        Assert.Equal(free, Assert.Single(await store.ClaimRunsAsync(Claim("w1"))).RunId);
        Assert.Null(await store.TryClaimRunAsync(held, "w1", Lease));
        Assert.Null(await store.TryClaimRunAsync(pausedRun, "w1", Lease));
        var states = (await ((IRunQueueStore)store).ListQueuesAsync()).Where(s => s.Definition.Name == zero || s.Definition.Name == paused).ToList();
        Assert.Equal(2, states.Count);
        Assert.All(states, s => Assert.Equal((0, 1, 1), (s.Running, s.Queued, s.Limited)));
        Assert.Equal(RunStatus.Pending, (await store.GetRunAsync(held))!.Status);

        // Unpaused, the run is dequeued.
        await ConfigureAsync(store, new QueueDefinition(paused));
        Assert.Equal(pausedRun, Assert.Single(await store.ClaimRunsAsync(Claim("w1"))).RunId);
    }

    [Fact]
    public async Task ListQueuesAsync_RunningQueuedLimited_CountsWhatAClaimSees()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { MaxConcurrencyPerKey = 1, RunsPerMinute = 10 });
        _ = await StartAsync(store, queue, "a1", key: "a");
        _ = await StartAsync(store, queue, "a2", key: "a");
        _ = await StartAsync(store, queue, "a3", key: "a");
        _ = await StartAsync(store, queue, "b1", key: "b");
        Assert.Equal(2, (await store.ClaimRunsAsync(Claim("w1", max: 1))).Count + (await store.ClaimRunsAsync(Claim("w2", max: 1))).Count);

        var state = Assert.Single(await ((IRunQueueStore)store).ListQueuesAsync(), s => s.Definition.Name == queue);

        Assert.Equal(new QueueDefinition(queue) { MaxConcurrencyPerKey = 1, RunsPerMinute = 10 }, state.Definition);
        Assert.Equal((2, 2, 2, 2), (state.Running, state.Queued, state.Limited, state.DequeuedInWindow));
        var run = (await store.ListRunsAsync(new RunQuery { PageSize = 10 })).Runs.First(r => r.Queue == queue && r.QueueKey == "b");
        Assert.Equal("b", run.QueueKey);
    }

    [Fact]
    public async Task StartQueuedRunAsync_WithinDebounceWindow_ReturnsTheEarlierRunAndWritesNothing()
    {
        await using var store = await CreateStoreAsync();
        var queues = (IRunQueueStore)store;
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue));
        var window = TimeSpan.FromSeconds(10);
        var first = NewId("first");
        var second = NewId("second");
        var other = NewId("other");
        var later = NewId("later");

        Assert.Equal(QueuedStartOutcome.Started, (await queues.StartQueuedRunAsync(Start(first), new QueuePlacement(queue) { Key = "k", DebounceWindow = window })).Outcome);
        Assert.Equal(new QueuedStart(first, QueuedStartOutcome.Debounced), await queues.StartQueuedRunAsync(Start(second), new QueuePlacement(queue) { Key = "k", DebounceWindow = window }));
        Assert.Equal(QueuedStartOutcome.Started, (await queues.StartQueuedRunAsync(Start(other), new QueuePlacement(queue) { Key = "other", DebounceWindow = window })).Outcome);
        Assert.Null(await store.GetRunAsync(second));

        await AdvanceClockAsync(window + TimeSpan.FromSeconds(1));
        Assert.Equal(QueuedStartOutcome.Started, (await queues.StartQueuedRunAsync(Start(later), new QueuePlacement(queue) { Key = "k", DebounceWindow = window })).Outcome);
    }

    [Fact]
    public async Task StartQueuedRunAsync_DebouncedWithSignal_DeliversTheSignalToTheEarlierRunWithTheDecision()
    {
        await using var store = await CreateStoreAsync();
        var queues = (IRunQueueStore)store;
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue));
        var window = TimeSpan.FromSeconds(10);
        var first = NewId("first");
        var second = NewId("second");
        Assert.Equal(QueuedStartOutcome.Started, (await queues.StartQueuedRunAsync(Start(first), new QueuePlacement(queue) { Key = "k", DebounceWindow = window })).Outcome);

        var merged = await queues.StartQueuedRunAsync(Start(second), new QueuePlacement(queue)
        {
            Key = "k",
            DebounceWindow = window,
            DebounceSignal = new SignalMessage("more-changes", Payload.FromJson("""{"change":2}"""), "client-b"),
        });

        Assert.Equal((first, QueuedStartOutcome.Debounced), (merged.RunId, merged.Outcome));
        var delivered = Assert.Single(await store.ReadSignalsAsync(first));
        Assert.Equal(merged.Signal!.SignalId, delivered.SignalId);
        Assert.Equal(("more-changes", """{"change":2}""", "client-b"), (delivered.Name, delivered.Payload!.ToJsonString(), delivered.Sender));
        Assert.Null(await store.GetRunAsync(second));
    }

    [Fact]
    public async Task StartQueuedRunAsync_DebouncedIntoAFinishedRun_DeliversNoSignalAndStartsNothing()
    {
        await using var store = await CreateStoreAsync();
        var queues = (IRunQueueStore)store;
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue));
        var placement = new QueuePlacement(queue) { Key = "k", DebounceWindow = TimeSpan.FromSeconds(10), DebounceSignal = new SignalMessage("more") };
        var first = await StartAsync(store, queue, "first", key: "k");
        await FinishAsync(store, Assert.Single(await store.ClaimRunsAsync(Claim("w1"))));
        var second = NewId("second");

        var merged = await queues.StartQueuedRunAsync(Start(second), placement);

        Assert.Equal(new QueuedStart(first, QueuedStartOutcome.Debounced), merged);
        Assert.Empty(await store.ReadSignalsAsync(first));
        Assert.Null(await store.GetRunAsync(second));
        await Assert.ThrowsAsync<ArgumentException>(() => queues.StartQueuedRunAsync(Start(second), placement with { DebounceWindow = null }));
    }

    [Fact]
    public async Task StartQueuedRunAsync_ExistingIdOrUnknownQueue_ExistingOrQueueNotFound()
    {
        await using var store = await CreateStoreAsync();
        var queues = (IRunQueueStore)store;
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue));
        var id = await StartAsync(store, queue, "a");

        Assert.Equal(new QueuedStart(id, QueuedStartOutcome.Existing), await queues.StartQueuedRunAsync(Start(id), new QueuePlacement(queue)));
        var missing = await Assert.ThrowsAsync<QueueNotFoundException>(() => queues.StartQueuedRunAsync(Start(NewId("b")), new QueuePlacement("no-such-queue")));
        Assert.Contains("ConfigureQueueAsync", missing.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => queues.ConfigureQueueAsync(new QueueDefinition(queue) { MaxConcurrency = -1 }));
        await Assert.ThrowsAsync<ArgumentException>(() => queues.StartQueuedRunAsync(Start(NewId("c")), new QueuePlacement(queue) { DebounceWindow = TimeSpan.FromSeconds(1) }));
    }

    [Fact]
    public async Task ClaimRunsAsync_IncludeOwnLeases_TakesBackOwnQueuedRunsWithinTheLimit()
    {
        await using var store = await CreateStoreAsync();
        var queue = Name();
        await ConfigureAsync(store, new QueueDefinition(queue) { MaxConcurrency = 1 });
        var a = await StartAsync(store, queue, "a");
        _ = await StartAsync(store, queue, "b");
        var held = Assert.Single(await store.ClaimRunsAsync(Claim("w1")));

        var again = await store.ClaimRunsAsync(Claim("w1") with { IncludeOwnLeases = true });

        Assert.Equal(a, Assert.Single(again).RunId);
        Assert.True(again[0].Epoch > held.Epoch);
    }
#pragma warning restore CS1591
}
