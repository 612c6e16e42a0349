using Durably.Storage;

namespace Durably.Tests.Storage;

// The durability decisions of group commit, tested once against a fake target driven by callbacks.
public sealed class GroupCommitWriterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(null)]
    [InlineData("test writer")]
    public async Task Enqueue_WhileABatchCommits_WritesEverythingPendingInTheNextBatchAndCompletesWaitersAfterCommit(string? thread)
    {
        var firstCommitting = new TaskCompletionSource();
        var releaseFirst = new ManualResetEventSlim();
        var target = new FakeTarget
        {
            OnCommit = batch =>
            {
                if (batch.Items[0].Name == "first")
                {
                    firstCommitting.SetResult();
                    releaseFirst.Wait(Timeout);
                }
            },
        };
        await using var writer = new GroupCommitWriter<Item>(target, new GroupCommitPolicy { ThreadName = thread }, "test store");
        var first = Enqueue(writer, "first");
        await firstCommitting.Task.WaitAsync(Timeout);
        var rest = Enumerable.Range(0, 10).Select(i => Enqueue(writer, "item " + i)).ToList();

        Assert.False(first.Task.IsCompleted);
        releaseFirst.Set();
        await first.Task.WaitAsync(Timeout);
        await Task.WhenAll(rest.Select(i => i.Task)).WaitAsync(Timeout);

        Assert.Equal([1, 10], target.Committed.Select(b => b.Count));
        Assert.Equal(2, target.Writes);
    }

    [Fact]
    public async Task Enqueue_ItemFailsItsOwnCheck_FailsOnlyThatItem()
    {
        var conflict = new InvalidOperationException("conflict");
        var target = new FakeTarget { OnWrite = batch => FailNamed(batch, "bad", conflict) };
        await using var writer = Writer(target);
        await HoldAsync(writer, target);
        var items = new[] { "a", "bad", "b" }.Select(n => Enqueue(writer, n)).ToList();
        target.Release();

        Assert.Same(conflict, await Assert.ThrowsAsync<InvalidOperationException>(() => items[1].Task.WaitAsync(Timeout)));
        await Task.WhenAll(items[0].Task, items[2].Task).WaitAsync(Timeout);
        Assert.Equal(["a", "b"], target.Committed.Last());
    }

    [Fact]
    public async Task Enqueue_ErrorBeforeCommit_FailsTheBatchWithTheClassifiedErrorAndGoesOn()
    {
        var full = new StoreFullException("full");
        var target = new FakeTarget
        {
            OnWrite = batch =>
            {
                if (batch.Items.Any(i => i.Name.StartsWith("full", StringComparison.Ordinal)))
                {
                    throw new IOException("disk full");
                }
            },
            OnClassify = (_, _) => GroupCommitError.NothingCommitted(full),
        };
        await using var writer = Writer(target);
        await HoldAsync(writer, target);
        var failing = new[] { "full 1", "full 2" }.Select(n => Enqueue(writer, n)).ToList();
        target.Release();

        foreach (var item in failing)
        {
            Assert.Same(full, await Assert.ThrowsAsync<StoreFullException>(() => item.Task.WaitAsync(Timeout)));
        }

        await Enqueue(writer, "later").Task.WaitAsync(Timeout);
        Assert.Equal(1, target.RolledBack);
    }

    [Fact]
    public async Task Enqueue_UnexpectedErrorInABatch_WritesEachItemAloneSoOnlyTheCulpritFails()
    {
        var target = new FakeTarget
        {
            OnWrite = batch =>
            {
                if (batch.Items.Any(i => i.Name == "poison"))
                {
                    throw new FormatException("a value the store cannot take");
                }
            },
            OnClassify = (ex, _) => GroupCommitError.Unexpected(new JournalStoreException("translated", ex)),
        };
        await using var writer = Writer(target);
        await HoldAsync(writer, target);
        var items = new[] { "a", "poison", "b" }.Select(n => Enqueue(writer, n)).ToList();
        target.Release();

        var ex = await Assert.ThrowsAsync<JournalStoreException>(() => items[1].Task.WaitAsync(Timeout));
        Assert.IsType<FormatException>(ex.InnerException);
        await Task.WhenAll(items[0].Task, items[2].Task).WaitAsync(Timeout);
        Assert.Equal([["hold"], ["a"], ["b"]], target.Committed);
        Assert.True(target.IsolatedBatches >= 3);
    }

    [Fact]
    public async Task Enqueue_TransientError_WritesTheBatchAgainUpToMaxAttempts()
    {
        var attempts = 0;
        var target = new FakeTarget
        {
            OnCommit = batch =>
            {
                if (batch.Items.Any(i => i.Name == "always") || ++attempts < 3)
                {
                    throw new TimeoutException("deadlock");
                }
            },
            OnClassify = (ex, _) => GroupCommitError.Transient(new JournalStoreException("lost the race too often", ex)),
        };
        await using var writer = new GroupCommitWriter<Item>(target, new GroupCommitPolicy { MaxAttempts = 4 }, "test store");
        await Enqueue(writer, "eventually").Task.WaitAsync(Timeout);
        Assert.Equal(3, attempts);

        var always = Enqueue(writer, "always");
        await Assert.ThrowsAsync<JournalStoreException>(() => always.Task.WaitAsync(Timeout));
        Assert.Equal(4, always.Commits);
    }

    [Fact]
    public async Task Enqueue_CommitInDoubt_CompletesWhatTheTargetFoundCommittedAndWritesTheRestAgain()
    {
        var lost = new IOException("connection reset");
        var target = new FakeTarget
        {
            OnCommit = batch =>
            {
                if (batch.Items.Count == 2)
                {
                    throw lost;
                }
            },
            OnClassify = (ex, stage) => stage == GroupCommitStage.Commit ? GroupCommitError.InDoubt(new JournalStoreException("in doubt", ex)) : GroupCommitError.NothingCommitted(ex),
            OnResolve = (items, cause) =>
            {
                Assert.Same(lost, cause);
                return [.. items.Select(i => i.Name == "landed")];
            },
        };
        await using var writer = Writer(target);
        await HoldAsync(writer, target);
        var landed = Enqueue(writer, "landed");
        var again = Enqueue(writer, "again");
        target.Release();

        await Task.WhenAll(landed.Task, again.Task).WaitAsync(Timeout);
        Assert.Equal((1, 2), (landed.Commits, again.Commits));
        Assert.Equal([["hold"], ["again"]], target.Committed);
    }

    [Fact]
    public async Task Enqueue_InDoubtCommitTheTargetCannotResolve_FailsWithItsErrorAndGoesOn()
    {
        var unknown = new JournalStoreException("outcome unknown");
        var target = new FakeTarget
        {
            OnCommit = batch =>
            {
                if (batch.Items[0].Name == "doubt")
                {
                    throw new IOException("connection reset");
                }
            },
            OnClassify = (ex, _) => GroupCommitError.InDoubt(ex),
            OnResolve = (_, _) => throw unknown,
        };
        await using var writer = Writer(target);

        Assert.Same(unknown, await Assert.ThrowsAsync<JournalStoreException>(() => Enqueue(writer, "doubt").Task.WaitAsync(Timeout)));
        await Enqueue(writer, "next").Task.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Enqueue_FatalCommitFailure_FailsThatBatchAndEveryLaterWriteUntilReopened()
    {
        var failure = new JournalStoreFailedException("fsync failed; may or may not be in the journal") { StoreLocation = "test store" };
        var target = new FakeTarget
        {
            OnCommit = batch =>
            {
                if (batch.Items[0].Name == "synced badly")
                {
                    throw new IOException("fsync");
                }
            },
            OnClassify = (_, _) => GroupCommitError.Fatal(failure),
        };
        await using var writer = Writer(target);
        await Enqueue(writer, "before").Task.WaitAsync(Timeout);
        await HoldAsync(writer, target);
        var doomed = new[] { "synced badly", "same batch" }.Select(n => Enqueue(writer, n)).ToList();
        target.Release();

        foreach (var item in doomed)
        {
            Assert.Same(failure, await Assert.ThrowsAsync<JournalStoreFailedException>(() => item.Task.WaitAsync(Timeout)));
        }

        var later = await Assert.ThrowsAsync<JournalStoreFailedException>(() => Enqueue(writer, "after").Task.WaitAsync(Timeout));
        Assert.Same(failure, later.InnerException);
        Assert.Contains("stopped accepting writes", later.Message, StringComparison.Ordinal);
        Assert.Same(failure, writer.Failure);
        Assert.Equal(3, target.Writes);
    }

    [Fact]
    public async Task DisposeAsync_WithQueuedItems_CommitsThemAndRefusesNewOnes()
    {
        var target = new FakeTarget();
        var writer = Writer(target);
        await HoldAsync(writer, target);
        var queued = Enumerable.Range(0, 5).Select(i => Enqueue(writer, "q" + i)).ToList();
        var disposing = writer.DisposeAsync().AsTask();
        target.Release();
        await disposing.WaitAsync(Timeout);

        await Task.WhenAll(queued.Select(i => i.Task)).WaitAsync(Timeout);
        Assert.All(queued, i => Assert.Equal(1, i.Commits));
        Assert.Throws<ObjectDisposedException>(() => writer.Enqueue(new Item("late")));
    }

    [Fact]
    public async Task Enqueue_WaitersWhoseContinuationsBlockOnALaterItemOfTheirBatch_AllComplete()
    {
        // Waiters' continuations run inline on the work items that release a batch. Here every waiter but the last
        // blocks its thread until the last one is answered: more blocked continuations than there are cores (so than
        // release work items), which only the writer's watchdog can get past.
        var target = new FakeTarget();
        await using var writer = Writer(target);
        await HoldAsync(writer, target);
        var blockers = Environment.ProcessorCount + 1;
        var items = Enumerable.Range(0, blockers + 1).Select(i => Enqueue(writer, "item " + i)).ToList();
        var last = items[^1].Task;
        var unblocked = items.Take(blockers).Select(i => i.Task.ContinueWith(
            _ => last.Wait(Timeout),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default)).ToList();
        target.Release();

        await last.WaitAsync(Timeout);
        await Task.WhenAll(unblocked).WaitAsync(Timeout);
        Assert.Equal([blockers + 1], target.Committed.Skip(1).Select(b => b.Count));
    }

    [Fact]
    public async Task DisposeAsync_CalledFromAWaitersContinuationThatBlocksOnIt_Returns()
    {
        // A host disposed synchronously from code that ran after an append (Host.Dispose() in a continuation).
        var target = new FakeTarget();
        var writer = Writer(target);
        var item = Enqueue(writer, "a");
        var disposed = item.Task.ContinueWith(
            _ => writer.DisposeAsync().AsTask().Wait(Timeout),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

        Assert.True(await disposed.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Enqueue_BoundedPolicy_SplitsBatchesByItemsAndBytes()
    {
        var target = new FakeTarget();
        await using var writer = new GroupCommitWriter<Item>(target, GroupCommitPolicy.Bounded(maxItems: 3, maxBytes: 100), "test store");
        await HoldAsync(writer, target);
        var items = new List<Item> { Enqueue(writer, "big", size: 150), Enqueue(writer, "s1"), Enqueue(writer, "s2"), Enqueue(writer, "s3"), Enqueue(writer, "s4") };
        target.Release();
        await Task.WhenAll(items.Select(i => i.Task)).WaitAsync(Timeout);

        Assert.Equal([["hold"], ["big"], ["s1", "s2", "s3"], ["s4"]], target.Committed);
    }

    // Blocks the writer inside the write of a first item, so that the items queued next form one batch.
    private static async Task HoldAsync(GroupCommitWriter<Item> writer, FakeTarget target)
    {
        target.Hold();
        Enqueue(writer, "hold");
        await target.Blocked.WaitAsync(Timeout);
    }

    private static GroupCommitWriter<Item> Writer(FakeTarget target) => new(target, new GroupCommitPolicy(), "test store");

    private static Item Enqueue(GroupCommitWriter<Item> writer, string name, long size = 1)
    {
        var item = new Item(name, size);
        writer.Enqueue(item);
        return item;
    }

    private static void FailNamed(GroupCommitBatch<Item> batch, string name, Exception exception)
    {
        foreach (var item in batch.Items.Where(i => i.Name == name))
        {
            batch.Fail(item, exception);
        }
    }

    private sealed class Item(string name, long size = 1) : GroupCommitItem
    {
        public string Name => name;

        public override long Size => size;

        public int Commits { get; set; }
    }

    // Records what it was asked to do; each stage calls an optional callback that may throw. Hold() blocks the next
    // write until Release(), so that items queue up behind it and form one batch.
    private sealed class FakeTarget : IGroupCommitTarget<Item>
    {
        private readonly SemaphoreSlim _gate = new(1);
        private TaskCompletionSource _blocked = new();

        public Action<GroupCommitBatch<Item>>? OnWrite { get; init; }

        public Action<GroupCommitBatch<Item>>? OnCommit { get; init; }

        public Func<Exception, GroupCommitStage, GroupCommitError> OnClassify { get; init; } = (ex, _) => GroupCommitError.NothingCommitted(ex);

        public Func<IReadOnlyList<Item>, Exception, IReadOnlyList<bool>>? OnResolve { get; init; }

        public List<List<string>> Committed { get; } = [];

        public int Writes { get; private set; }

        public int RolledBack { get; private set; }

        public int IsolatedBatches { get; private set; }

        public Task Blocked => _blocked.Task;

        public void Hold()
        {
            _gate.Wait();
            _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public void Release() => _gate.Release();

        public async ValueTask WriteAsync(GroupCommitBatch<Item> batch)
        {
            if (!_gate.Wait(0))
            {
                _blocked.TrySetResult();
                await _gate.WaitAsync(Timeout);
            }

            _gate.Release();
            Writes++;
            IsolatedBatches += batch.IsIsolated ? 1 : 0;
            OnWrite?.Invoke(batch);
        }

        public ValueTask CommitAsync(GroupCommitBatch<Item> batch)
        {
            foreach (var item in batch.Items)
            {
                item.Commits++;
            }

            OnCommit?.Invoke(batch);
            Committed.Add([.. batch.Items.Where(i => !batch.IsFailed(i)).Select(i => i.Name)]);
            return ValueTask.CompletedTask;
        }

        public ValueTask RollBackAsync()
        {
            RolledBack++;
            return ValueTask.CompletedTask;
        }

        public GroupCommitError Classify(Exception exception, GroupCommitStage stage) => OnClassify(exception, stage);

        public ValueTask<IReadOnlyList<bool>> ResolveInDoubtAsync(IReadOnlyList<Item> items, Exception cause)
            => ValueTask.FromResult(OnResolve is { } resolve ? resolve(items, cause) : throw new NotSupportedException());
    }
}
