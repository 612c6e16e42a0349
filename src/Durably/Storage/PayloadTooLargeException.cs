namespace Durably.Storage;

/// <summary>Thrown when a value to journal is larger than the configured limit. Nothing was written.</summary>
/// <remarks>The limits: a codec's largest payload (<c>JsonPayloadCodec.MaxPayloadBytes</c>, 1 MiB by default); a store's largest
/// serialized entry (<c>MaxEntryBytes</c>, 4 MiB); and, with payload offloading on (<see cref="PayloadBlobOptions"/>), the largest
/// offloaded payload (<see cref="PayloadBlobOptions.MaxBlobBytes"/>, 256 MiB), while the entry that refers to it, with a small
/// reference in its place, must still fit <c>MaxEntryBytes</c>.</remarks>
public sealed class PayloadTooLargeException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public PayloadTooLargeException(string what, long size, long limit)
        : base($"{what} is {size:N0} bytes; the journal accepts at most {limit:N0} bytes here. Turn on payload offloading in the store options (PayloadBlobs: payloads above the inline limit are kept outside the journal rows, up to MaxBlobBytes), store large data elsewhere and journal a reference to it, or raise the limit.")
    {
        Size = size;
        Limit = limit;
    }

    /// <summary>Gets the size of the rejected value in bytes.</summary>
    public long Size { get; }

    /// <summary>Gets the limit in bytes.</summary>
    public long Limit { get; }
}
