using Durably.Storage;
using Npgsql;

namespace Durably.Postgres;

public sealed partial class PostgresJournalStore
{
    /// <inheritdoc/>
    /// <remarks>Deletes in one transaction; PostgreSQL reclaims the space through autovacuum.</remarks>
    public Task<PurgeResult> PurgeRunsAsync(PurgeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        return RunAsync("purging runs", async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using var select = new NpgsqlCommand($"""
                SELECT r.id, r.run_id, (SELECT count(*) FROM {_schema}.entries e WHERE e.run = r.id)
                FROM {_schema}.runs r
                WHERE r.status = ANY($1) AND r.status >= 3 AND r.updated_at < $2
                ORDER BY r.id LIMIT $3
                FOR UPDATE
                """, connection, transaction);
            select.Parameters.Add(new NpgsqlParameter { Value = request.Statuses.Select(s => (short)s).ToArray() });
            select.Parameters.Add(new NpgsqlParameter { Value = request.FinishedBefore.UtcDateTime });
            select.Parameters.Add(new NpgsqlParameter { Value = request.MaxRuns });
            var keys = new List<long>();
            var ids = new List<RunId>();
            long entries = 0;
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    keys.Add(reader.GetInt64(0));
                    ids.Add(RunId.Parse(reader.GetString(1)));
                    entries += reader.GetInt64(2);
                }
            }

            if (!request.DryRun && keys.Count > 0)
            {
                // Signals go with their run through the foreign key's ON DELETE CASCADE.
                foreach (var sql in new[] { $"DELETE FROM {_schema}.entries WHERE run = ANY($1)", $"DELETE FROM {_schema}.runs WHERE id = ANY($1)" })
                {
                    await using var delete = new NpgsqlCommand(sql, connection, transaction);
                    delete.Parameters.Add(new NpgsqlParameter { Value = keys.ToArray() });
                    await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new PurgeResult(ids, entries, request.DryRun);
        }, cancellationToken);
    }
}
