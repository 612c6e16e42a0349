namespace Durably.Storage;

/// <summary>Checks a store's own storage for damage beneath the journals: pages, indexes, files.</summary>
/// <remarks>Implemented by stores that can check themselves (SQLite runs <c>PRAGMA integrity_check</c>);
/// <see cref="Inspection.JournalVerifier"/> calls it before reading the journals.</remarks>
public interface IJournalStoreIntegrity
{
    /// <summary>Checks the store's storage and describes every problem found.</summary>
    /// <returns>The problems, one sentence each; empty when the storage is sound.</returns>
    /// <exception cref="JournalCorruptedException">The storage is too damaged to be checked at all.</exception>
    /// <exception cref="JournalStoreLockedException">Another process holds the store locked.</exception>
    Task<IReadOnlyList<string>> CheckIntegrityAsync(CancellationToken cancellationToken = default);
}
