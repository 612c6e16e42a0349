namespace Durably.Storage;

/// <summary>Thrown when a value to journal is larger than the configured limit. Nothing was written.</summary>
public sealed class PayloadTooLargeException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public PayloadTooLargeException(string what, long size, long limit)
        : base($"{what} is {size:N0} bytes; the journal accepts at most {limit:N0} bytes per entry. Store large data elsewhere (a blob store, a file) and journal a reference to it, or raise the limit in the store options.")
    {
        Size = size;
        Limit = limit;
    }

    /// <summary>Gets the size of the rejected value in bytes.</summary>
    public long Size { get; }

    /// <summary>Gets the limit in bytes.</summary>
    public long Limit { get; }
}
