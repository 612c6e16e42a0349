namespace Durably.Storage;

/// <summary>Says how a <see cref="GroupCommitWriter{TItem}"/> forms batches and where its loop runs.</summary>
/// <remarks>
/// Start from a named factory: <see cref="OnDedicatedThread"/> for a store whose I/O is synchronous (an embedded
/// database file), <see cref="Bounded"/> for a store that sends a batch over the network in one message. Immutable.
/// </remarks>
public sealed record GroupCommitPolicy
{
    /// <summary>Gets the most items in one batch. Default unlimited.</summary>
    public int MaxBatchItems { get; init; } = int.MaxValue;

    /// <summary>Gets the most bytes (the sum of <see cref="GroupCommitItem.Size"/>) a batch grows to; a batch always takes at least one item. Default unlimited.</summary>
    public long MaxBatchBytes { get; init; } = long.MaxValue;

    /// <summary>Gets how many transactions an item may take part in that end without an answer (<see cref="GroupCommitErrorKind.Transient"/>, <see cref="GroupCommitErrorKind.InDoubt"/>) before it fails. Default 5.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Gets the name of the dedicated thread the loop runs on, or <see langword="null"/> to run it on the thread pool. Default <see langword="null"/>.</summary>
    /// <remarks>A dedicated thread suits a target that completes synchronously: it blocks in the disk sync without holding a pool thread, and waits for work without a task switch.</remarks>
    public string? ThreadName { get; init; }

    /// <summary>Creates a policy that commits everything pending at once, on a dedicated thread named <paramref name="threadName"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="threadName"/> is empty.</exception>
    public static GroupCommitPolicy OnDedicatedThread(string threadName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(threadName);
        return new GroupCommitPolicy { ThreadName = threadName };
    }

    /// <summary>Creates a policy that commits at most <paramref name="maxItems"/> items and about <paramref name="maxBytes"/> bytes at once, on the thread pool.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is less than 1.</exception>
    public static GroupCommitPolicy Bounded(int maxItems, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxItems, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        return new GroupCommitPolicy { MaxBatchItems = maxItems, MaxBatchBytes = maxBytes };
    }
}
