namespace Durably.Storage;

/// <summary>Thrown when a store cannot read or make data durable: an I/O error, a lost connection, a full disk.</summary>
/// <remarks>An append that fails with this exception was not acknowledged; whether a later reopen shows it depends on whether the commit reached the disk, but never partially.</remarks>
public class JournalStoreException : DurablyException
{
    /// <summary>Creates the exception with a message and the underlying error.</summary>
    public JournalStoreException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>Gets the file or server the store uses, when known.</summary>
    public string? StoreLocation { get; init; }
}
