using Durably.Storage;
using Npgsql;

namespace Durably.Postgres;

public sealed partial class PostgresJournalStore
{
    /// <inheritdoc/>
    /// <remarks>
    /// Runs locked by another worker's claim at the same moment are skipped (<c>FOR UPDATE SKIP LOCKED</c>), so
    /// workers claiming together get different runs without waiting for each other. A lease lasts
    /// <see cref="ClaimRequest.LeaseDuration"/> from the database's clock. Each claim increases the run's epoch.
    /// </remarks>
    public Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckClaim(request);
        return RunAsync<IReadOnlyList<RunLease>>("claiming runs", async connection =>
        {
            await using var claim = new NpgsqlCommand($"""
                WITH due AS (
                    SELECT id FROM {_schema}.runs
                    WHERE status < 3 AND queue IS NULL
                      AND (((lease_expires_at IS NULL OR lease_expires_at <= now()) AND (status <> 2 OR wake_at <= now()))
                           OR ($4 AND lease_owner = $1))
                    ORDER BY id LIMIT $3
                    FOR NO KEY UPDATE SKIP LOCKED)
                UPDATE {_schema}.runs r SET lease_owner = $1, lease_epoch = r.lease_epoch + 1, lease_expires_at = now() + $2
                FROM due WHERE r.id = due.id
                RETURNING r.run_id, r.lease_epoch, r.lease_expires_at
                """, connection);
            claim.Parameters.Add(new NpgsqlParameter { Value = request.Owner });
            claim.Parameters.Add(new NpgsqlParameter { Value = request.LeaseDuration });
            claim.Parameters.Add(new NpgsqlParameter { Value = request.MaxRuns });
            claim.Parameters.Add(new NpgsqlParameter { Value = request.IncludeOwnLeases });
            var leases = await ReadLeasesAsync(claim, request.Owner, cancellationToken).ConfigureAwait(false);
            if (leases.Count < request.MaxRuns)
            {
                try
                {
                    await ClaimQueuedAsync(connection, request, leases, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (leases.Count > 0 && ex is NpgsqlException or IOException or TimeoutException)
                {
                    // The runs claimed above are leased already (that statement committed): hand them over rather than leave
                    // them leased to nobody until their leases expire; the next claim tries the queues again.
                }
            }

            return leases;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<RunLease?> TryClaimRunAsync(RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        return RunAsync("claiming a run", async connection =>
        {
            await using var claim = new NpgsqlCommand($"""
                UPDATE {_schema}.runs SET lease_owner = $2, lease_epoch = lease_epoch + 1, lease_expires_at = now() + $3
                WHERE run_id = $1 AND status < 3 AND (status <> 2 OR wake_at <= now()) AND queue IS NULL
                  AND (lease_expires_at IS NULL OR lease_expires_at <= now() OR lease_owner = $2)
                RETURNING run_id, lease_epoch, lease_expires_at
                """, connection);
            claim.Parameters.Add(new NpgsqlParameter { Value = runId.Value });
            claim.Parameters.Add(new NpgsqlParameter { Value = owner });
            claim.Parameters.Add(new NpgsqlParameter { Value = leaseDuration });
            var leases = await ReadLeasesAsync(claim, owner, cancellationToken).ConfigureAwait(false);
            if (leases.Count > 0)
            {
                return leases[0];
            }

            _ = await ReadEpochAsync(connection, runId, cancellationToken).ConfigureAwait(false);

            // A run on a queue is leased only as its queue's limits and order allow.
            return await TryClaimQueuedAsync(connection, runId, owner, leaseDuration, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<RunLease> RenewLeaseAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        return RunAsync("renewing a lease", async connection =>
        {
            await using var renew = new NpgsqlCommand($"""
                UPDATE {_schema}.runs SET lease_expires_at = now() + $4
                WHERE run_id = $1 AND lease_epoch = $2 AND lease_owner = $3 AND status < 3
                RETURNING run_id, lease_epoch, lease_expires_at
                """, connection);
            renew.Parameters.Add(new NpgsqlParameter { Value = lease.RunId.Value });
            renew.Parameters.Add(new NpgsqlParameter { Value = lease.Epoch });
            renew.Parameters.Add(new NpgsqlParameter { Value = lease.Owner });
            renew.Parameters.Add(new NpgsqlParameter { Value = leaseDuration });
            var leases = await ReadLeasesAsync(renew, lease.Owner, cancellationToken).ConfigureAwait(false);
            if (leases.Count > 0)
            {
                return leases[0];
            }

            throw new LeaseLostException(lease.RunId, lease.Epoch, await ReadEpochAsync(connection, lease.RunId, cancellationToken).ConfigureAwait(false));
        }, cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>Sends a wake-up so a waiting worker may claim the run at once.</remarks>
    public Task ReleaseLeaseAsync(RunLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return RunAsync("releasing a lease", async connection =>
        {
            await using var release = new NpgsqlCommand($"""
                WITH released AS (
                    UPDATE {_schema}.runs SET lease_owner = NULL, lease_expires_at = NULL
                    WHERE run_id = $1 AND lease_epoch = $2 AND lease_owner = $3
                    RETURNING status)
                SELECT pg_notify($4, '') FROM released WHERE status < 3
                """, connection);
            release.Parameters.Add(new NpgsqlParameter { Value = lease.RunId.Value });
            release.Parameters.Add(new NpgsqlParameter { Value = lease.Epoch });
            release.Parameters.Add(new NpgsqlParameter { Value = lease.Owner });
            release.Parameters.Add(new NpgsqlParameter { Value = _sql.Channel });
            return await release.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    private async Task<long> ReadEpochAsync(NpgsqlConnection connection, RunId runId, CancellationToken cancellationToken)
    {
        await using var current = new NpgsqlCommand($"SELECT lease_epoch FROM {_schema}.runs WHERE run_id = $1", connection);
        current.Parameters.Add(new NpgsqlParameter { Value = runId.Value });
        return await current.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as long? ?? throw new RunNotFoundException(runId);
    }

    private static async Task<List<RunLease>> ReadLeasesAsync(NpgsqlCommand command, string owner, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var leases = new List<RunLease>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            leases.Add(new RunLease(RunId.Parse(reader.GetString(0)), owner, reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2)));
        }

        return leases;
    }
}
