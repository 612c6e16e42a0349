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
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _settled;

    /// <summary>Gets the task that completes when the item is durable, or faults with the reason it was not written (or may not have been).</summary>
    public Task Task => _completion.Task;

    /// <summary>Gets the number of bytes the item adds to a batch, checked against <see cref="GroupCommitPolicy.MaxBatchBytes"/>. Default 0.</summary>
    public virtual long Size => 0;

    // Transactions this item took part in that ended without an answer (a lost race, a commit not found after a lost connection).
    internal int Attempts { get; set; }

    internal bool IsSettled => Volatile.Read(ref _settled) != 0;

    internal void Complete()
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            OnCommitted();
            _completion.SetResult();
        }
    }

    internal void Fail(Exception exception)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _completion.SetException(exception);
        }
    }

    /// <summary>Runs when the commit holding the item is durable, just before <see cref="Task"/> completes; publish a result here.</summary>
    /// <remarks>Runs on the writer's thread; it must be quick and must not throw.</remarks>
    protected virtual void OnCommitted()
    {
    }
}
