namespace Durably.Storage;

/// <summary>Tells whether a store can serve its callers now, cheaply and without writing: for health checks.</summary>
/// <remarks>
/// <para>Implemented by stores that can tell more than a successful read would (SQLite: its writer stopped after a failed
/// sync, or its file was deleted while open; PostgreSQL: the server cannot be reached). A health check calls it every few
/// seconds, so it reads at most one row and never takes the write lock.</para>
/// <para>Stores without it are checked with a cheap read (<see cref="IJournalStore.GetRunAsync"/>).</para>
/// </remarks>
public interface IJournalStoreHealth
{
    /// <summary>Checks the store, and throws what its callers would meet now if it cannot serve them.</summary>
    /// <exception cref="JournalStoreFailedException">The store stopped writing after a commit whose sync failed; reopen it after checking the disk.</exception>
    /// <exception cref="JournalStoreNotFoundException">The store's file or database is gone.</exception>
    /// <exception cref="JournalStoreException">The storage cannot be read (the server is unreachable, the file is locked or damaged).</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    Task CheckHealthAsync(CancellationToken cancellationToken = default);
}
