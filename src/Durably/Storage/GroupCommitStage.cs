namespace Durably.Storage;

/// <summary>Says where in a group commit an error happened, for <see cref="IGroupCommitTarget{TItem}.Classify"/>.</summary>
public enum GroupCommitStage
{
    /// <summary>In <see cref="IGroupCommitTarget{TItem}.WriteAsync"/>: the transaction is not committed.</summary>
    Write,

    /// <summary>In <see cref="IGroupCommitTarget{TItem}.CommitAsync"/>: the commit may or may not have happened.</summary>
    Commit,
}
