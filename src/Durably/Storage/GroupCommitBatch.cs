namespace Durably.Storage;

/// <summary>Holds the items a <see cref="GroupCommitWriter{TItem}"/> hands to its target to write in one transaction.</summary>
/// <remarks>
/// Used only by the writer's thread during one <see cref="IGroupCommitTarget{TItem}.WriteAsync"/> and
/// <see cref="IGroupCommitTarget{TItem}.CommitAsync"/>; not thread-safe.
/// </remarks>
/// <typeparam name="TItem">The store's item type.</typeparam>
public sealed class GroupCommitBatch<TItem>
    where TItem : GroupCommitItem
{
    internal GroupCommitBatch(IReadOnlyList<TItem> items, bool isolated)
    {
        Items = items;
        IsIsolated = isolated;
    }

    /// <summary>Gets the items to write, in queue order.</summary>
    public IReadOnlyList<TItem> Items { get; }

    /// <summary>Gets a value indicating whether this is one item written alone after an unexpected error in a larger batch.</summary>
    public bool IsIsolated { get; }

    /// <summary>Fails one item for a reason of its own (a concurrency conflict, a lost lease, a finished run) while the rest of the batch is committed.</summary>
    /// <remarks>
    /// The target must make sure nothing of the failed item is committed: check before writing, make the write
    /// conditional, or undo it (a savepoint). The item's waiter gets <paramref name="exception"/> once the writer is
    /// done with the batch (with the other items' answers), not while the target still works on it.
    /// </remarks>
    /// <param name="item">An item of <see cref="Items"/>.</param>
    /// <param name="exception">What the item's waiter gets.</param>
    public void Fail(TItem item, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(exception);
        item.Fail(exception);
    }

    /// <summary>Gets a value indicating whether <see cref="Fail"/> was called for <paramref name="item"/>: it is not part of what the batch commits.</summary>
    /// <param name="item">An item of <see cref="Items"/>.</param>
    /// <returns><see langword="true"/> when the item failed for a reason of its own.</returns>
    public bool IsFailed(TItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return item.IsSettled;
    }
}
