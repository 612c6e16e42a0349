namespace Durably.Storage;

/// <summary>Thrown when another process holds the store locked longer than the store waits (for SQLite, its busy timeout).</summary>
/// <remarks>Nothing was read or written. The data is not damaged: retry later, or stop the process that holds the lock.</remarks>
public sealed class JournalStoreLockedException : JournalStoreException
{
    /// <summary>Creates the exception with a message and the underlying error.</summary>
    public JournalStoreLockedException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
