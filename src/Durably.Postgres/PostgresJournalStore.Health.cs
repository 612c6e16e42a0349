using Durably.Storage;
using Npgsql;

namespace Durably.Postgres;

public sealed partial class PostgresJournalStore
{
    /// <inheritdoc/>
    /// <remarks>Checks that the writer has not stopped, then reads at most one row of the runs table on a pooled connection:
    /// a server that is down or unreachable, a dropped schema or a missing permission fails it with the error every call
    /// would meet. It never writes and takes no lock.</remarks>
    public Task CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (_writes.Failure is { } failure)
        {
            throw new JournalStoreFailedException(failure.Message, failure) { StoreLocation = _location };
        }

        return RunAsync("checking its health", async connection =>
        {
            await using var command = new NpgsqlCommand($"SELECT 1 FROM {_schema}.runs LIMIT 1", connection);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }
}
