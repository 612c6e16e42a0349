namespace Durably.Storage;

/// <summary>Keeps large payloads outside the journal rows and collects the ones no entry refers to any more.</summary>
/// <remarks>Implemented by the built-in stores (<see cref="InMemoryJournalStore"/>, SQLite, PostgreSQL). Offloading is
/// configured in the store's options (<see cref="PayloadBlobOptions"/>); reads of offloaded payloads are transparent.
/// A missing or damaged blob is reported by the read as a <see cref="JournalCorruptedException"/> naming the run, the entry and the hash.</remarks>
public interface IJournalStoreBlobs
{
    /// <summary>Gets the options for offloading payloads, or <see langword="null"/> when every payload stays in its row.</summary>
    PayloadBlobOptions? BlobOptions { get; }

    /// <summary>Counts the stored blobs and the distinct blobs entries and signals refer to.</summary>
    Task<PayloadBlobUsage> GetBlobUsageAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes the blobs that no remaining entry or signal refers to (after a purge, for example).</summary>
    /// <remarks>Never deletes a blob a committed entry refers to, nor one written or used by an append in flight: only blobs
    /// unreferenced and unused for longer than <see cref="BlobCollectionRequest.GracePeriod"/> are deleted.</remarks>
    Task<BlobCollectionResult> CollectBlobsAsync(BlobCollectionRequest request, CancellationToken cancellationToken = default);
}

/// <summary>Selects what a blob garbage collection may delete.</summary>
public sealed record BlobCollectionRequest
{
    /// <summary>Gets how long a blob must have been unused (not written, not referred to by a new entry) before it may be deleted; <see langword="null"/> for the store's <see cref="PayloadBlobOptions.CollectionGracePeriod"/>.</summary>
    public TimeSpan? GracePeriod { get; init; }

    /// <summary>Gets a value indicating whether to only report what would be deleted.</summary>
    public bool DryRun { get; init; }
}

/// <summary>Reports a blob garbage collection.</summary>
/// <param name="Examined">The blobs looked at.</param>
/// <param name="Deleted">The blobs deleted (or, for a dry run, that would be).</param>
/// <param name="BytesFreed">Their bytes.</param>
/// <param name="DryRun">Whether nothing was deleted.</param>
public sealed record BlobCollectionResult(long Examined, long Deleted, long BytesFreed, bool DryRun);

/// <summary>Reports how many payload blobs a store holds.</summary>
/// <param name="Blobs">The stored blobs.</param>
/// <param name="Bytes">Their bytes.</param>
/// <param name="Referenced">The distinct blobs entries and signals refer to.</param>
public sealed record PayloadBlobUsage(long Blobs, long Bytes, long Referenced);
