namespace Durably.Storage;

/// <summary>Commits the writes of a store in groups: one loop drains the queue, writes everything pending in one transaction, makes it durable once, then completes every waiter.</summary>
/// <remarks>
/// <para>A store queues its writes with <see cref="Enqueue"/> and plugs in what differs between stores through an
/// <see cref="IGroupCommitTarget{TItem}"/>: how to write a batch in one transaction and how to make it durable. What
/// decides durability is here, once: a waiter completes only after the commit holding its item is durable; an
/// item's own failure (<see cref="GroupCommitBatch{TItem}.Fail"/>) fails only that item; an unexpected error writes
/// each item again alone, so only the one that causes it fails; a lost race is written again; a commit left in doubt
/// is resolved by the target when it can; and a commit that may not be durable, when later ones cannot be trusted
/// either (a failed fsync), stops the writer: that batch and every later write fail with
/// <see cref="JournalStoreFailedException"/> until the store is disposed and opened again.</para>
/// <para>Waiters are answered from thread-pool work items, never from the loop: a waiter's continuation runs there
/// inline (it is not queued again), so a batch of many writes costs a few work items. A continuation that blocks holds
/// up no other waiter for long: the batch's other work items, and if they all block a watchdog's, take the rest.</para>
/// <para>Thread-safe: any thread may enqueue. The target is called from one loop at a time.</para>
/// </remarks>
/// <typeparam name="TItem">The store's item type.</typeparam>
public sealed class GroupCommitWriter<TItem> : IAsyncDisposable
    where TItem : GroupCommitItem
{
    private readonly IGroupCommitTarget<TItem> _target;
    private readonly GroupCommitPolicy _policy;
    private readonly string _location;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _ready = new(0);
    private readonly Task _loop;
    private readonly List<TItem> _queue = [];
    private bool _stopping;
    private bool _loopWaiting;
    private readonly Releases _releases = new();
    private JournalStoreFailedException? _failure;

    /// <summary>Creates the writer and starts its loop.</summary>
    /// <param name="target">Writes and commits the batches.</param>
    /// <param name="policy">How batches are formed and where the loop runs.</param>
    /// <param name="storeLocation">The file or server of the store, for error messages.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public GroupCommitWriter(IGroupCommitTarget<TItem> target, GroupCommitPolicy policy, string storeLocation)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(storeLocation);
        ArgumentOutOfRangeException.ThrowIfLessThan(policy.MaxBatchItems, 1, nameof(policy));
        ArgumentOutOfRangeException.ThrowIfLessThan(policy.MaxBatchBytes, 1, nameof(policy));
        ArgumentOutOfRangeException.ThrowIfLessThan(policy.MaxAttempts, 1, nameof(policy));
        _target = target;
        _policy = policy;
        _location = storeLocation;
        if (policy.ThreadName is { } name)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                try
                {
                    // The target completes synchronously here, so the whole loop stays on this thread.
                    LoopAsync().AsTask().GetAwaiter().GetResult();
                    done.SetResult();
                }
                catch (Exception ex)
                {
                    done.SetException(ex);
                }
            })
            { IsBackground = true, Name = name };
            thread.Start();
            _loop = done.Task;
        }
        else
        {
            _loop = Task.Run(() => LoopAsync().AsTask());
        }
    }

    /// <summary>Gets the failure that stopped the writer, or <see langword="null"/> while it accepts writes.</summary>
    public JournalStoreFailedException? Failure => Volatile.Read(ref _failure);

    /// <summary>Queues an item for the next batch; its <see cref="GroupCommitItem.Task"/> completes once the item is durable, or faults.</summary>
    /// <remarks>After the writer stopped on a failure, the item fails at once with a <see cref="JournalStoreFailedException"/> whose inner exception is <see cref="Failure"/>.</remarks>
    /// <param name="item">The write; queued once.</param>
    /// <exception cref="ArgumentNullException"><paramref name="item"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The writer is disposed.</exception>
    public void Enqueue(TItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        bool wake, refused = false;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_failure is { } failure)
            {
                item.Fail(Stopped(failure));
                refused = true;
                wake = false;
            }
            else
            {
                _queue.Add(item);
                wake = TakeWakeUp();
            }
        }

        // Woken outside the lock, so the loop does not wake up only to wait for it.
        if (wake)
        {
            _ready.Release();
        }

        if (refused)
        {
            item.Release();
        }
    }

    /// <summary>Stops accepting items, commits what is queued, and waits for the loop to end.</summary>
    /// <remarks>Every queued item is settled when this returns; the tasks of the last batch complete on the thread pool,
    /// possibly just after (this does not wait for them: one of their continuations may be the caller).</remarks>
    public async ValueTask DisposeAsync()
    {
        bool wake;
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            wake = TakeWakeUp();
        }

        if (wake)
        {
            _ready.Release();
        }

        // Every item was settled by then; the last batch's waiters are being released on the thread pool. This does
        // not wait for them: a waiter's continuation may itself be what disposes (even blocking on it, as a host's
        // synchronous Dispose does), and it would wait for itself.
        await _loop.ConfigureAwait(false);
        _ready.Dispose();
    }

    // Under _gate: whether the caller must wake the loop (it waits, and nobody has woken it yet). One release per wait.
    private bool TakeWakeUp()
    {
        if (!_loopWaiting)
        {
            return false;
        }

        _loopWaiting = false;
        return true;
    }

    private async ValueTask LoopAsync()
    {
        var batch = new List<TItem>();
        while (await TakeAsync(batch).ConfigureAwait(false))
        {
            try
            {
                if (Volatile.Read(ref _failure) is { } failure)
                {
                    // Queued before the writer stopped.
                    FailAll(batch, Stopped(failure));
                }
                else
                {
                    var pending = (IReadOnlyList<TItem>)batch;
                    while (pending.Count > 0)
                    {
                        pending = await CommitAsync(pending, isolated: false).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception ex)
            {
                // A target that broke its contract; the loop must survive it and every waiter must get an answer.
                await _target.RollBackAsync().ConfigureAwait(false);
                FailAll(batch, new JournalStoreException($"Writing to {_location} failed unexpectedly: {ex.Message}", ex) { StoreLocation = _location });
            }

            if (batch.Count > 0)
            {
                _releases.Dispatch([.. batch]);
            }

            batch.Clear();
        }
    }

    // Moves the next batch into the empty list; returns false once stopping with nothing left.
    private async ValueTask<bool> TakeAsync(List<TItem> batch)
    {
        while (true)
        {
            lock (_gate)
            {
                if (_queue.Count > 0)
                {
                    long bytes = 0;
                    var count = 0;
                    while (count < _queue.Count && count < _policy.MaxBatchItems && bytes < _policy.MaxBatchBytes)
                    {
                        bytes += _queue[count].Size;
                        count++;
                    }

                    batch.AddRange(_queue.GetRange(0, count));
                    _queue.RemoveRange(0, count);
                    return true;
                }

                if (_stopping)
                {
                    return false;
                }

                _loopWaiting = true;
            }

            if (_policy.ThreadName is not null)
            {
                // The loop's own thread: block it, the target completes synchronously anyway.
                _ready.Wait();
            }
            else
            {
                await _ready.WaitAsync().ConfigureAwait(false);
            }
        }
    }

    // Writes and commits the items in one transaction; settles each, and returns those to write again.
    private async ValueTask<IReadOnlyList<TItem>> CommitAsync(IReadOnlyList<TItem> items, bool isolated)
    {
        var batch = new GroupCommitBatch<TItem>(items, isolated);
        var stage = GroupCommitStage.Write;
        GroupCommitError error;
        Exception cause;
        try
        {
            await _target.WriteAsync(batch).ConfigureAwait(false);
            stage = GroupCommitStage.Commit;
            await _target.CommitAsync(batch).ConfigureAwait(false);
            foreach (var item in items)
            {
                item.Complete();
            }

            return [];
        }
        catch (Exception ex)
        {
            cause = ex;
            error = _target.Classify(ex, stage);
            await _target.RollBackAsync().ConfigureAwait(false);
        }

        var pending = items.Where(i => !i.IsSettled).ToList();
        switch (error.Kind)
        {
            case GroupCommitErrorKind.Unexpected when !isolated && pending.Count > 1:
                foreach (var item in pending)
                {
                    IReadOnlyList<TItem> alone = [item];
                    while (alone.Count > 0)
                    {
                        alone = await CommitAsync(alone, isolated: true).ConfigureAwait(false);
                    }
                }

                return [];

            case GroupCommitErrorKind.Transient:
                return Retry(pending, error.Exception);

            case GroupCommitErrorKind.InDoubt:
                return await ResolveAsync(pending, cause, error.Exception).ConfigureAwait(false);

            case GroupCommitErrorKind.Fatal:
                lock (_gate)
                {
                    Volatile.Write(ref _failure, (JournalStoreFailedException)error.Exception);
                }

                FailAll(pending, error.Exception);
                return [];

            default:
                FailAll(pending, error.Exception);
                return [];
        }
    }

    private async ValueTask<IReadOnlyList<TItem>> ResolveAsync(List<TItem> pending, Exception cause, Exception reported)
    {
        IReadOnlyList<bool> committed;
        try
        {
            committed = await _target.ResolveInDoubtAsync(pending, cause).ConfigureAwait(false);
        }
        catch (JournalStoreException unresolved)
        {
            FailAll(pending, unresolved);
            return [];
        }

        var again = new List<TItem>();
        for (var i = 0; i < pending.Count; i++)
        {
            if (committed[i])
            {
                pending[i].Complete();
            }
            else
            {
                // Not written, or not by this transaction: the conditional write then reports the conflict.
                again.Add(pending[i]);
            }
        }

        return Retry(again, reported);
    }

    private List<TItem> Retry(List<TItem> items, Exception reported)
    {
        var again = new List<TItem>(items.Count);
        foreach (var item in items)
        {
            if (++item.Attempts >= _policy.MaxAttempts)
            {
                item.Fail(reported);
            }
            else
            {
                again.Add(item);
            }
        }

        return again;
    }

    private JournalStoreFailedException Stopped(JournalStoreFailedException failure)
        => new($"The store at {failure.StoreLocation ?? _location} stopped accepting writes after an earlier commit failed and may not be durable; nothing of this write was written. The earlier failure: {failure.Message}", failure)
        {
            StoreLocation = failure.StoreLocation ?? _location,
        };

    private static void FailAll(IEnumerable<TItem> items, Exception exception)
    {
        foreach (var item in items)
        {
            item.Fail(exception);
        }
    }

    // Completes the waiters of a settled batch from thread-pool work items, never from the loop, whose only job is
    // the next commit. One work item per core shares the batch, each completing item after item with the waiters'
    // continuations inline: a batch costs a few work items instead of one per waiter, and a waiter whose
    // continuation runs long (workflow code up to its next await) delays only the items its work item has not
    // reached, which the other work items take meanwhile.
    // Completes the waiters of settled batches from thread-pool work items, never from the loop, whose only job is the
    // next commit. One work item per core shares a batch, each completing item after item with the waiters'
    // continuations inline: a batch costs a few work items instead of one per waiter. A continuation that runs long
    // (workflow code up to its next await) or blocks (waiting synchronously for something) holds only its own work
    // item: the others take the rest of the batch, and when a batch makes no progress for a while (every work item
    // blocked), a watchdog adds work items, so no waiter depends on another's continuation to return.
    private sealed class Releases
    {
        private static readonly TimeSpan StallCheck = TimeSpan.FromMilliseconds(20);
        private readonly List<BatchRelease> _inFlight = [];
        private Timer? _watchdog;

        public void Dispatch(TItem[] items)
        {
            var release = new BatchRelease(items);
            lock (_inFlight)
            {
                _inFlight.Add(release);
                _watchdog ??= new Timer(static state => ((Releases)state!).Watch(), this, StallCheck, StallCheck);
            }

            var workers = Math.Min(items.Length, Environment.ProcessorCount);
            for (var i = 0; i < workers; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(release, preferLocal: false);
            }
        }

        // Adds a work item to every batch that has items no work item took and made no progress since the last look.
        private void Watch()
        {
            lock (_inFlight)
            {
                _inFlight.RemoveAll(r => r.IsTaken);
                foreach (var release in _inFlight)
                {
                    if (release.Stalled())
                    {
                        ThreadPool.UnsafeQueueUserWorkItem(release, preferLocal: false);
                    }
                }

                if (_inFlight.Count == 0)
                {
                    _watchdog?.Dispose();
                    _watchdog = null;
                }
            }
        }
    }

    private sealed class BatchRelease(TItem[] items) : IThreadPoolWorkItem
    {
        private int _next = -1;
        private int _lastSeen = -1;

        // Every item has a work item completing it (or completed).
        public bool IsTaken => Volatile.Read(ref _next) >= items.Length - 1;

        // Called by the watchdog only: true when no item was taken since its last call.
        public bool Stalled()
        {
            var next = Volatile.Read(ref _next);
            var stalled = next == _lastSeen;
            _lastSeen = next;
            return stalled;
        }

        public void Execute()
        {
            int i;
            while ((i = Interlocked.Increment(ref _next)) < items.Length)
            {
                items[i].Release();
            }
        }
    }
}
