namespace Durably.Storage;

/// <summary>Keeps large payloads outside the journal rows, content-addressed by the SHA-256 of their bytes.</summary>
/// <remarks>
/// <para>A journal store that offloads payloads (<see cref="PayloadBlobOptions"/>) writes a payload's bytes here, exactly as
/// the run's codec produced them (so an encrypted payload stays encrypted), before it commits the entry that references
/// them, and reads them back when the entry is read. The same bytes are kept once, whatever number of entries refer to them.</para>
/// <para>Implementations are thread-safe and may be shared by several processes (the host, the <c>durably</c> tool).
/// Blobs are never changed in place; they are only written whole, and deleted by the store's garbage collection
/// (<see cref="IJournalStoreBlobs.CollectBlobsAsync"/>) when no entry refers to them any more.</para>
/// </remarks>
public interface IPayloadBlobStore
{
    /// <summary>Gets where the blobs are kept, for messages: a folder, a URL.</summary>
    string Location { get; }

    /// <summary>Stores <paramref name="data"/> under <paramref name="sha256"/> durably, or marks an existing copy as just used.</summary>
    /// <remarks>Completes only when the bytes would survive a crash (for files: written, synced, renamed into place and the folder synced).
    /// Writing a blob that exists already refreshes its last-used time, which keeps garbage collection from deleting it
    /// while the append that refers to it commits.</remarks>
    /// <param name="sha256">The lower-case hexadecimal SHA-256 of <paramref name="data"/> (<see cref="PayloadBlobs.Hash"/>).</param>
    /// <param name="data">The bytes.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="JournalStoreException">The bytes could not be made durable.</exception>
    ValueTask WriteAsync(string sha256, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Reads the blob stored under <paramref name="sha256"/>, or returns <see langword="null"/> when there is none.</summary>
    /// <remarks>The bytes are returned as stored; the journal store checks them against the hash.</remarks>
    ValueTask<byte[]?> ReadAsync(string sha256, CancellationToken cancellationToken = default);

    /// <summary>Lists the stored blobs with their sizes and last-used times.</summary>
    IAsyncEnumerable<PayloadBlobInfo> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a blob unless it was written or used at or after <paramref name="usedBefore"/>.</summary>
    /// <remarks>The check and the deletion are one step as far as writers are concerned: a <see cref="WriteAsync"/> that
    /// refreshed the blob first keeps it, and one that comes after finds it gone and writes it again.</remarks>
    /// <returns>The bytes freed, or 0 when the blob was kept or did not exist.</returns>
    ValueTask<long> DeleteIfUnusedSinceAsync(string sha256, DateTimeOffset usedBefore, CancellationToken cancellationToken = default);
}
