namespace Durably.Storage;

/// <summary>Thrown when a store's data is damaged or is not a Durably journal.</summary>
public sealed class JournalCorruptedException : JournalStoreException
{
    /// <summary>Creates the exception with a message and the underlying error.</summary>
    public JournalCorruptedException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
