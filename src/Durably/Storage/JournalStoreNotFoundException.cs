namespace Durably.Storage;

/// <summary>Thrown when a store that must already exist does not (for SQLite, a missing file opened without creating it; for PostgreSQL, a schema without Durably tables opened with <c>Validate</c>).</summary>
public sealed class JournalStoreNotFoundException : JournalStoreException
{
    /// <summary>Creates the exception with a message.</summary>
    public JournalStoreNotFoundException(string message)
        : base(message)
    {
    }
}
