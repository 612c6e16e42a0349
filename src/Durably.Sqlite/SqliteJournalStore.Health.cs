using Durably.Storage;

namespace Durably.Sqlite;

public sealed partial class SqliteJournalStore
{
    /// <inheritdoc/>
    /// <remarks>Checks, in this order: the writer has not stopped after a failed sync; the journal file is still where it was
    /// opened (a file deleted while open, or whose folder was removed, still serves the connections that have it open, but
    /// every write would go to a file that nobody can open again); one row can be read from it. It never writes.</remarks>
    public Task CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (_writes.Failure is { } failure)
        {
            throw new JournalStoreFailedException(failure.Message, failure) { StoreLocation = Path };
        }

        if (!File.Exists(Path))
        {
            throw new JournalStoreNotFoundException(
                $"The journal file '{Path}' is gone: it was deleted, or its folder removed, while the store had it open. "
                + "Its writes cannot reach the disk any more. Restore the file (or its folder) from a backup, then restart the host.")
            { StoreLocation = Path };
        }

        ReadSql(connection =>
        {
            var probe = _readers.Statement(connection, "SELECT 1 FROM runs LIMIT 1");
            try
            {
                probe.Step();
            }
            finally
            {
                probe.Reset();
            }

            return 0;
        });
        return Task.CompletedTask;
    }
}
