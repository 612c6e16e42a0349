namespace Durably.Storage;

/// <summary>Tells a <see cref="GroupCommitWriter{TItem}"/> what an error in a batch means and what the waiters get.</summary>
/// <remarks>Made by <see cref="IGroupCommitTarget{TItem}.Classify"/> with one of the named factories. Immutable.</remarks>
public sealed class GroupCommitError
{
    private GroupCommitError(GroupCommitErrorKind kind, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Kind = kind;
        Exception = exception;
    }

    /// <summary>Gets what the writer does next.</summary>
    public GroupCommitErrorKind Kind { get; }

    /// <summary>Gets the exception the failing waiters get (for <see cref="GroupCommitErrorKind.Transient"/> and <see cref="GroupCommitErrorKind.InDoubt"/>, once the attempts are used up).</summary>
    public Exception Exception { get; }

    /// <summary>Creates the answer for an error that left nothing of the batch committed: every item fails with <paramref name="exception"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public static GroupCommitError NothingCommitted(Exception exception) => new(GroupCommitErrorKind.NothingCommitted, exception);

    /// <summary>Creates the answer for an unexplained error: each item is written alone, and an item that fails alone gets <paramref name="exception"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public static GroupCommitError Unexpected(Exception exception) => new(GroupCommitErrorKind.Unexpected, exception);

    /// <summary>Creates the answer for a lost race: the batch is written again; an item out of attempts gets <paramref name="exception"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public static GroupCommitError Transient(Exception exception) => new(GroupCommitErrorKind.Transient, exception);

    /// <summary>Creates the answer for a commit whose outcome the target can learn: the writer asks <see cref="IGroupCommitTarget{TItem}.ResolveInDoubtAsync"/>; an item not committed is written again, and one out of attempts gets <paramref name="exception"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public static GroupCommitError InDoubt(Exception exception) => new(GroupCommitErrorKind.InDoubt, exception);

    /// <summary>Creates the answer for a commit that may or may not be durable when later commits cannot be trusted either: the batch fails with <paramref name="exception"/> and the writer refuses every later write.</summary>
    /// <remarks>The message should say that the writes may or may not be there after reopening, and how to reopen the store.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public static GroupCommitError Fatal(JournalStoreFailedException exception) => new(GroupCommitErrorKind.Fatal, exception);
}
