namespace Durably.Storage;

/// <summary>Represents one queued write of a <see cref="GroupCommitWriter{TItem}"/>: an append, a claim, a signal.</summary>
/// <remarks>
/// <para>A store derives its own item type from this class and keeps in it what its target needs to write (the
/// appends, their encoded bytes, a function to run in the transaction). The writer alone decides when the item's
/// <see cref="Task"/> completes: after the commit holding it was made durable, or with the exception that says why
/// not. A store never completes an item itself; it reports an item's own failure with
/// <see cref="GroupCommitBatch{TItem}.Fail"/>.</para>
/// <para>An item belongs to one writer and is queued once. Its members are safe to read from any thread.</para>
/// </remarks>
public class GroupCommitItem
{
    // No RunContinuationsAsynchronously: the writer releases items from thread-pool work items (never from its own
    // loop), so a waiter's continuation runs right there instead of costing another thread-pool hop.
    private readonly TaskCompletionSource _completion = new();
    private Exception? _failure;
    private int _settled;

    /// <summary>Gets the task that completes when the item is durable, or faults with the reason it was not written (or may not have been).</summary>
    public Task Task => _completion.Task;

    /// <summary>Gets the number of bytes the item adds to a batch, checked against <see cref="GroupCommitPolicy.MaxBatchBytes"/>. Default 0.</summary>
    public virtual long Size => 0;

    // Transactions this item took part in that ended without an answer (a lost race, a commit not found after a lost connection).
    internal int Attempts { get; set; }

    internal bool IsSettled => Volatile.Read(ref _settled) != 0;

    // Settles the item as durable; its task completes when the writer releases it.
    internal void Complete()
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            OnCommitted();
        }
    }

    // Settles the item as failed; its task faults when the writer releases it.
    internal void Fail(Exception exception)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _failure = exception;
        }
    }

    // Completes the task of a settled item, running its waiters' continuations on the calling thread.
    internal void Release()
    {
        if (_failure is { } failure)
        {
            _completion.TrySetException(failure);
        }
        else
        {
            _completion.TrySetResult();
        }
    }

    /// <summary>Runs when the commit holding the item is durable, before <see cref="Task"/> completes; publish a result here.</summary>
    /// <remarks>Runs on the writer's thread; it must be quick and must not throw.</remarks>
    protected virtual void OnCommitted()
    {
    }
}
