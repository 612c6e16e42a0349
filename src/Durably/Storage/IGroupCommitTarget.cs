namespace Durably.Storage;

/// <summary>Writes batches for a <see cref="GroupCommitWriter{TItem}"/>: the part of a store's group commit that differs between stores (its SQL and transactions).</summary>
/// <remarks>
/// <para>For each batch the writer calls <see cref="WriteAsync"/> (write every item in one transaction, not yet
/// committed) and then <see cref="CommitAsync"/> (commit and make it durable). When either throws, the writer asks
/// <see cref="Classify"/> what the error means, then calls <see cref="RollBackAsync"/>, and decides the rest:
/// which waiters fail, what is written again, whether the store stops. The writer calls one method at a time, from
/// one thread at a time, so a target needs no locking of its own for its connection.</para>
/// <para>A store whose protocol sends the writes and the COMMIT together (one network round trip) may prepare the
/// batch in <see cref="WriteAsync"/> and send it in <see cref="CommitAsync"/>, reporting the items that found a
/// conflict there with <see cref="GroupCommitBatch{TItem}.Fail"/>.</para>
/// <para>There is no cancellation: once queued, a write is committed or failed, never abandoned half-way.</para>
/// </remarks>
/// <typeparam name="TItem">The store's item type.</typeparam>
public interface IGroupCommitTarget<TItem>
    where TItem : GroupCommitItem
{
    /// <summary>Starts a transaction and writes every item of <paramref name="batch"/> in it, without committing.</summary>
    /// <remarks>Fail an item whose own check fails (a conflict) with <see cref="GroupCommitBatch{TItem}.Fail"/> and leave nothing of it in the transaction; throw for anything else.</remarks>
    /// <param name="batch">The items to write.</param>
    ValueTask WriteAsync(GroupCommitBatch<TItem> batch);

    /// <summary>Commits the transaction <see cref="WriteAsync"/> wrote and returns once it is durable.</summary>
    /// <param name="batch">The batch <see cref="WriteAsync"/> wrote.</param>
    ValueTask CommitAsync(GroupCommitBatch<TItem> batch);

    /// <summary>Ends the open transaction without committing after an error, or drops a connection whose state is unknown.</summary>
    /// <remarks>Called after every error, once <see cref="Classify"/> has seen it. Must not throw.</remarks>
    ValueTask RollBackAsync();

    /// <summary>Says what an error thrown by <see cref="WriteAsync"/> or <see cref="CommitAsync"/> means, and what the failing waiters get.</summary>
    /// <remarks>Must not throw. Typically translates the driver's exception into a <see cref="JournalStoreException"/> that names the store.</remarks>
    /// <param name="exception">The error.</param>
    /// <param name="stage">Where it happened.</param>
    GroupCommitError Classify(Exception exception, GroupCommitStage stage);

    /// <summary>Finds out, after an error classified <see cref="GroupCommitErrorKind.InDoubt"/>, which items the commit holds.</summary>
    /// <remarks>
    /// Only called when <see cref="Classify"/> returns <see cref="GroupCommitErrorKind.InDoubt"/>; a target that never
    /// does may throw <see cref="NotSupportedException"/>. The answer must be final: make sure the lost transaction
    /// cannot still commit before reading. An item reported not committed is written again, so its write must be
    /// conditional (it then reports a conflict if another writer got there first).
    /// </remarks>
    /// <param name="items">The items of the batch that were not settled, in batch order.</param>
    /// <param name="cause">The error that left the commit in doubt.</param>
    /// <returns>Per item, whether it was committed.</returns>
    /// <exception cref="JournalStoreException">The outcome cannot be learned; every item fails with this exception and the writer carries on.</exception>
    ValueTask<IReadOnlyList<bool>> ResolveInDoubtAsync(IReadOnlyList<TItem> items, Exception cause);
}
