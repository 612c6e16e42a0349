namespace Durably.Storage;

/// <summary>Thrown when the store's disk or database is full. The append was not written; free space and retry.</summary>
public sealed class StoreFullException : JournalStoreException
{
    /// <summary>Creates the exception with a message and the underlying error.</summary>
    public StoreFullException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
