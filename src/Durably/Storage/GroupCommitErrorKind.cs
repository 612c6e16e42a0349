namespace Durably.Storage;

/// <summary>Says what a <see cref="GroupCommitWriter{TItem}"/> does after an error in a batch; see <see cref="GroupCommitError"/>.</summary>
public enum GroupCommitErrorKind
{
    /// <summary>Nothing of the batch was committed (a full disk, a lock, a server error): every item fails, the writer carries on.</summary>
    NothingCommitted,

    /// <summary>An error nothing explains, possibly caused by one item: each item is written again alone, so only the one that causes it fails.</summary>
    Unexpected,

    /// <summary>Another transaction won a race (a deadlock): nothing was committed, and the batch is written again, up to <see cref="GroupCommitPolicy.MaxAttempts"/> times.</summary>
    Transient,

    /// <summary>The commit may or may not have happened and the target can find out: the writer asks <see cref="IGroupCommitTarget{TItem}.ResolveInDoubtAsync"/>.</summary>
    InDoubt,

    /// <summary>The commit may or may not be durable and the store cannot trust later commits (a failed fsync): the batch fails, and so does every later write until the store is reopened.</summary>
    Fatal,
}
