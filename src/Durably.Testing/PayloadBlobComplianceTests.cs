using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Durably.Testing;

/// <summary>Defines the contract of stores that keep large payloads outside their rows (<see cref="IJournalStoreBlobs"/>); subclass it once per store.</summary>
/// <remarks>Each test creates a fresh, empty store through <see cref="CreateStoreAsync"/> with offloading on at an inline limit of
/// <see cref="InlineLimit"/> bytes. Stores whose clock can be driven should use <see cref="Clock"/>; stores on a server clock override <see cref="AdvanceClockAsync"/>.</remarks>
public abstract class PayloadBlobComplianceTests
{
    /// <summary>The inline limit the tests configure: payloads above it are offloaded.</summary>
    protected const int InlineLimit = 1024;

    /// <summary>Gets a fake clock starting at a fixed instant, for stores that accept a <see cref="TimeProvider"/>.</summary>
    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Creates a fresh, empty store that offloads payloads as <paramref name="blobs"/> says.</summary>
    protected abstract Task<IJournalStore> CreateStoreAsync(PayloadBlobOptions blobs);

    /// <summary>Moves the store's clock forward (by default <see cref="Clock"/>).</summary>
    protected virtual Task AdvanceClockAsync(TimeSpan by)
    {
        Clock.Advance(by);
        return Task.CompletedTask;
    }

    /// <summary>Makes a JSON string payload of about <paramref name="size"/> bytes whose content is derived from <paramref name="seed"/>.</summary>
    protected static Payload Large(string seed, int size = 8 * InlineLimit)
        => Payload.FromValue(string.Concat(Enumerable.Repeat(seed + ";", size / (seed.Length + 1) + 1))[..size]);

    private static PayloadBlobOptions Options => new() { InlineLimit = InlineLimit, MaxBlobBytes = 8L * 1024 * 1024 };

    private static DateTimeOffset Ms(long offset) => DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000 + offset);

    private static RunId NewId() => new("b-" + Guid.NewGuid().ToString("N"));

    private static RunAppend Start(RunId id, Payload? input = null)
        => new(id, 0, [new RunStarted { Sequence = 0, Timestamp = Ms(0), Workflow = "blobs", WorkflowVersion = 1, Input = input }]) { Status = RunStatus.Running };

    private static RunAppend Step(RunId id, long sequence, Payload result)
        => new(id, sequence, [new StepCompleted { Sequence = sequence, Timestamp = Ms(sequence), Step = (int)sequence, Result = result }]);

    private static RunAppend Complete(RunId id, long sequence, Payload? result = null)
        => new(id, sequence, [new RunCompleted { Sequence = sequence, Timestamp = Ms(sequence), Result = result }]) { Status = RunStatus.Completed };

    private static IJournalStoreBlobs Blobs(IJournalStore store)
        => store as IJournalStoreBlobs ?? throw new InvalidOperationException($"{store.GetType().Name} does not implement IJournalStoreBlobs.");

    // The test names say what each test checks (Method_Scenario_Expected).
#pragma warning disable CS1591
    [Fact]
    public async Task Read_PayloadsOverInlineLimit_ComeBackWhole()
    {
        await using var store = await CreateStoreAsync(Options);
        var id = NewId();
        var (input, result, final, signal) = (Large("input"), Large("result"), Large("final"), Large("signal"));
        await store.AppendAsync(Start(id, input));
        await store.AppendAsync(Step(id, 1, result));
        await store.AppendAsync(new RunAppend(id, 2, [new SignalReceived { Sequence = 2, Timestamp = Ms(2), Step = 2, Name = "go", SignalId = 1, Payload = signal }]));
        var delivered = await store.DeliverSignalAsync(id, new SignalMessage("later", signal, "ops"));
        await store.AppendAsync(Complete(id, 3, final));

        var entries = await store.ReadAsync(id);
        Assert.Equal(input, ((RunStarted)entries[0]).Input);
        Assert.Equal(result, ((StepCompleted)entries[1]).Result);
        Assert.Equal(signal, ((SignalReceived)entries[2]).Payload);
        Assert.Equal(final, ((RunCompleted)entries[3]).Result);
        Assert.Equal(signal, delivered.Payload);
        Assert.Equal(signal, Assert.Single(await store.ReadSignalsAsync(id)).Payload);
        Assert.Equal(result, ((StepCompleted)Assert.Single(await store.ReadAsync(id, 1), e => e.Sequence == 1)).Result);

        var usage = await Blobs(store).GetBlobUsageAsync();
        Assert.Equal(4, usage.Blobs);
        Assert.Equal(4, usage.Referenced);
    }

    [Fact]
    public async Task Append_PayloadsAtOrUnderInlineLimit_StayInTheirRows()
    {
        await using var store = await CreateStoreAsync(Options);
        var id = NewId();
        await store.AppendAsync(Start(id, Payload.FromValue(new string('s', InlineLimit - 2))));
        await store.AppendAsync(Step(id, 1, Payload.FromJson("42")));

        Assert.Equal(new string('s', InlineLimit - 2), ((RunStarted)(await store.ReadAsync(id))[0]).Input!.ToValue<string>());
        Assert.Equal(0, (await Blobs(store).GetBlobUsageAsync()).Blobs);
    }

    [Fact]
    public async Task Append_IdenticalPayloadsInManyRuns_StoredOnce()
    {
        await using var store = await CreateStoreAsync(Options);
        var shared = Large("the same long conversation");
        var ids = Enumerable.Range(0, 3).Select(_ => NewId()).ToList();
        foreach (var id in ids)
        {
            await store.AppendAsync(Start(id, shared));
            await store.AppendAsync(Step(id, 1, shared));
        }

        var usage = await Blobs(store).GetBlobUsageAsync();
        Assert.Equal(1, usage.Blobs);
        Assert.Equal(1, usage.Referenced);
        Assert.InRange(usage.Bytes, shared.Length, shared.Length);
        foreach (var id in ids)
        {
            Assert.Equal(shared, ((StepCompleted)(await store.ReadAsync(id))[1]).Result);
        }
    }

    [Fact]
    public async Task Append_PayloadOverBlobLimit_ThrowsPayloadTooLargeAndWritesNothing()
    {
        await using var store = await CreateStoreAsync(new PayloadBlobOptions { InlineLimit = InlineLimit, MaxBlobBytes = 4 * InlineLimit });
        var id = NewId();
        await store.AppendAsync(Start(id));
        var ex = await Assert.ThrowsAsync<PayloadTooLargeException>(() => store.AppendAsync(Step(id, 1, Large("too big", 5 * InlineLimit))).AsTask());
        Assert.Equal(4 * InlineLimit, ex.Limit);
        Assert.Single(await store.ReadAsync(id));
        Assert.Equal(0, (await Blobs(store).GetBlobUsageAsync()).Blobs);
    }

    [Fact]
    public async Task Append_PayloadOverMaxEntryBytes_IsAcceptedAsBlob()
    {
        await using var store = await CreateStoreAsync(Options);
        var id = NewId();
        var big = Large("bigger than an entry may be", StoreLimits.DefaultMaxEntryBytes + 1024);
        await store.AppendAsync(Start(id));
        await store.AppendAsync(Step(id, 1, big));
        Assert.Equal(big, ((StepCompleted)(await store.ReadAsync(id))[1]).Result);
    }

    [Fact]
    public async Task StartQueuedRun_InputOverMaxEntryBytesAndDebounceSignal_OffloadedReferencedAndReadWhole()
    {
        await using var store = await CreateStoreAsync(Options);
        if (store is not IRunQueueStore queues)
        {
            return; // A store without queues has no queued start.
        }

        var queue = "blobs-" + Guid.NewGuid().ToString("N")[..8];
        await queues.ConfigureQueueAsync(new QueueDefinition(queue));
        var (first, second) = (NewId(), NewId());
        var input = Large("a queued run's input larger than an entry may be", StoreLimits.DefaultMaxEntryBytes + 1024);
        var merged = Large("the merged input of a debounced start");
        var placement = new QueuePlacement(queue) { Key = "k", DebounceWindow = TimeSpan.FromMinutes(1) };

        Assert.Equal(QueuedStartOutcome.Started, (await queues.StartQueuedRunAsync(Start(first, input) with { Status = RunStatus.Pending }, placement)).Outcome);
        var debounced = await queues.StartQueuedRunAsync(Start(second, merged) with { Status = RunStatus.Pending }, placement with { DebounceSignal = new SignalMessage("more", merged) });

        Assert.Equal((first, QueuedStartOutcome.Debounced), (debounced.RunId, debounced.Outcome));
        Assert.Equal(input, ((RunStarted)Assert.Single(await store.ReadAsync(first))).Input);
        Assert.Equal(merged, Assert.Single(await store.ReadSignalsAsync(first)).Payload);

        // Both blobs are referenced by the run, so collection keeps them.
        await AdvanceClockAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, (await Blobs(store).CollectBlobsAsync(new BlobCollectionRequest { GracePeriod = TimeSpan.Zero })).Deleted);
        var usage = await Blobs(store).GetBlobUsageAsync();
        Assert.Equal((2L, 2L), (usage.Blobs, usage.Referenced));
    }

    [Fact]
    public async Task CollectBlobs_AfterPurge_DeletesOnlyBlobsNoRemainingRunRefersTo()
    {
        await using var store = await CreateStoreAsync(Options);
        var (gone, kept) = (NewId(), NewId());
        var (shared, onlyGone, onlyKept) = (Large("shared"), Large("only the purged run"), Large("only the kept run"));
        await store.AppendAsync(Start(gone, shared));
        await store.AppendAsync(Step(gone, 1, onlyGone));
        await store.AppendAsync(Complete(gone, 2));
        await store.AppendAsync(Start(kept, shared));
        await store.AppendAsync(Step(kept, 1, onlyKept));
        await store.DeliverSignalAsync(kept, new SignalMessage("go", Large("a kept signal")));

        var purged = await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Completed], FinishedBefore = new DateTimeOffset(2999, 1, 1, 0, 0, 0, TimeSpan.Zero) });
        Assert.Equal([gone], purged.Runs);
        await AdvanceClockAsync(TimeSpan.FromMinutes(1));
        var collected = await Blobs(store).CollectBlobsAsync(new BlobCollectionRequest { GracePeriod = TimeSpan.Zero });

        Assert.Equal(1, collected.Deleted);
        Assert.Equal(onlyGone.Length, collected.BytesFreed);
        var usage = await Blobs(store).GetBlobUsageAsync();
        Assert.Equal((3L, 3L), (usage.Blobs, usage.Referenced));
        var entries = await store.ReadAsync(kept);
        Assert.Equal(shared, ((RunStarted)entries[0]).Input);
        Assert.Equal(onlyKept, ((StepCompleted)entries[1]).Result);
        Assert.Equal(Large("a kept signal"), Assert.Single(await store.ReadSignalsAsync(kept)).Payload);
    }

    [Fact]
    public async Task CollectBlobs_UnreferencedWithinGracePeriodOrDryRun_DeletesNothing()
    {
        await using var store = await CreateStoreAsync(Options);
        var id = NewId();
        await store.AppendAsync(Start(id, Large("soon unreferenced")));
        await store.AppendAsync(Complete(id, 1));
        await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Completed], FinishedBefore = new DateTimeOffset(2999, 1, 1, 0, 0, 0, TimeSpan.Zero) });

        var within = await Blobs(store).CollectBlobsAsync(new BlobCollectionRequest { GracePeriod = TimeSpan.FromHours(1) });
        Assert.Equal(0, within.Deleted);
        await AdvanceClockAsync(TimeSpan.FromMinutes(1));
        var dry = await Blobs(store).CollectBlobsAsync(new BlobCollectionRequest { GracePeriod = TimeSpan.Zero, DryRun = true });
        Assert.Equal((1L, true), (dry.Deleted, dry.DryRun));
        Assert.Equal(1, (await Blobs(store).GetBlobUsageAsync()).Blobs);
    }

    [Fact]
    public async Task CollectBlobs_BlobReusedByANewRun_IsKept()
    {
        await using var store = await CreateStoreAsync(Options);
        var (first, second) = (NewId(), NewId());
        var payload = Large("written twice");
        await store.AppendAsync(Start(first, payload));
        await store.AppendAsync(Complete(first, 1));
        await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Completed], FinishedBefore = new DateTimeOffset(2999, 1, 1, 0, 0, 0, TimeSpan.Zero) });
        await AdvanceClockAsync(TimeSpan.FromMinutes(1));
        await store.AppendAsync(Start(second, payload));

        var collected = await Blobs(store).CollectBlobsAsync(new BlobCollectionRequest { GracePeriod = TimeSpan.Zero });
        Assert.Equal(0, collected.Deleted);
        Assert.Equal(payload, ((RunStarted)(await store.ReadAsync(second))[0]).Input);
    }

    [Fact]
    public async Task CollectBlobs_RunningWhileAppendsReuseAnUnreferencedBlob_NeverDeletesABlobAnEntryRefersTo()
    {
        await using var store = await CreateStoreAsync(Options);
        var shared = Large("shared by every append");

        // The shared blob exists and nothing refers to it: each append below makes it referenced again while collections run.
        var seed = NewId();
        await store.AppendAsync(Start(seed, shared));
        await store.AppendAsync(Complete(seed, 1));
        await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Completed], FinishedBefore = new DateTimeOffset(2999, 1, 1, 0, 0, 0, TimeSpan.Zero) });

        using var done = new CancellationTokenSource();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var collector = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                await AdvanceClockAsync(TimeSpan.FromMinutes(1));
                await Blobs(store).CollectBlobsAsync(new BlobCollectionRequest { GracePeriod = TimeSpan.Zero });
                first.TrySetResult();
            }
        });
        await first.Task;

        var runs = Enumerable.Range(0, 6).Select(_ => NewId()).ToList();
        await Task.WhenAll(runs.Select(id => Task.Run(async () =>
        {
            await store.AppendAsync(Start(id, shared));
            for (var seq = 1; seq <= 15; seq++)
            {
                await store.AppendAsync(Step(id, seq, seq % 2 == 0 ? shared : Large($"{id} {seq}")));
            }
        })));
        await done.CancelAsync();
        await collector;

        foreach (var id in runs)
        {
            var entries = await store.ReadAsync(id);
            Assert.Equal(shared, ((RunStarted)entries[0]).Input);
            Assert.All(entries.OfType<StepCompleted>(), e => Assert.Equal(e.Sequence % 2 == 0 ? shared : Large($"{id} {e.Sequence}"), e.Result));
        }
    }

    [Fact]
    public async Task Compact_AfterPurge_CollectsBlobsAndReportsSizes()
    {
        await using var store = await CreateStoreAsync(Options);
        var compaction = store as IJournalStoreCompaction ?? throw new InvalidOperationException($"{store.GetType().Name} does not implement IJournalStoreCompaction.");
        for (var i = 0; i < 5; i++)
        {
            var id = NewId();
            await store.AppendAsync(Start(id, Large("run " + i, 64 * 1024)));
            await store.AppendAsync(Complete(id, 1));
        }

        await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Completed], FinishedBefore = new DateTimeOffset(2999, 1, 1, 0, 0, 0, TimeSpan.Zero) });
        await AdvanceClockAsync(TimeSpan.FromMinutes(1));
        var result = await compaction.CompactAsync(new CompactionRequest { Blobs = new BlobCollectionRequest { GracePeriod = TimeSpan.Zero } });
        Assert.Equal(5, result.Blobs.Deleted);
        Assert.True(result.BytesAfter < result.BytesBefore, $"compaction went from {result.BytesBefore} to {result.BytesAfter} bytes");
        Assert.Equal(0, (await Blobs(store).GetBlobUsageAsync()).Blobs);
    }
#pragma warning restore CS1591
}
