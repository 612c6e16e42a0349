namespace Durably.Storage;

/// <summary>Gives the space of deleted runs back: the store's own compaction and blob garbage collection.</summary>
/// <remarks>Implemented by the SQLite store (WAL checkpoint, <c>VACUUM</c>, blob collection) and the PostgreSQL store (blob
/// collection, <c>VACUUM</c> where the user may run it). <c>durably journal compact</c> calls it.</remarks>
public interface IJournalStoreCompaction
{
    /// <summary>Compacts the store and reports its size before and after.</summary>
    /// <exception cref="JournalStoreLockedException">Another process held the store locked too long.</exception>
    Task<CompactionResult> CompactAsync(CompactionRequest request, CancellationToken cancellationToken = default);
}

/// <summary>Selects what a compaction does.</summary>
public sealed record CompactionRequest
{
    /// <summary>Gets a value indicating whether to rewrite the whole store (SQLite <c>VACUUM</c>; PostgreSQL <c>VACUUM FULL</c> of the blob table), which takes the write lock for a while. Default <see langword="true"/>.</summary>
    public bool Full { get; init; } = true;

    /// <summary>Gets the blob collection to run as part of the compaction; <see langword="null"/> for the store's defaults.</summary>
    public BlobCollectionRequest? Blobs { get; init; }
}

/// <summary>Reports a compaction.</summary>
/// <param name="BytesBefore">The store's size before, in bytes (SQLite: file, WAL and blob folder; PostgreSQL: the tables).</param>
/// <param name="BytesAfter">Its size after.</param>
/// <param name="Blobs">What the blob collection did.</param>
/// <param name="Notes">What was done or skipped, one sentence each (for example a VACUUM the user may not run).</param>
public sealed record CompactionResult(long BytesBefore, long BytesAfter, BlobCollectionResult Blobs, IReadOnlyList<string> Notes);
