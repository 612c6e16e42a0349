using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite;

public sealed partial class SqliteJournalStore
{
    /// <inheritdoc/>
    public Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckClaim(request);
        ThrowIfDisposed();
        return Enqueue<IReadOnlyList<RunLease>>((store, now) =>
        {
            using var claim = store._writer.CreateCommand();
            claim.CommandText = """
                UPDATE runs SET lease_owner = $owner, lease_epoch = lease_epoch + 1, lease_expires_at = $expires
                WHERE id IN (
                    SELECT id FROM runs
                    WHERE status < 3
                      AND (((lease_expires_at IS NULL OR lease_expires_at <= $now) AND (status <> 2 OR wake_at <= $now))
                           OR ($own AND lease_owner = $owner))
                    ORDER BY id LIMIT $limit)
                RETURNING run_id, lease_epoch, lease_expires_at
                """;
            claim.Parameters.AddWithValue("$owner", request.Owner);
            claim.Parameters.AddWithValue("$expires", now + (long)request.LeaseDuration.TotalMilliseconds);
            claim.Parameters.AddWithValue("$now", now);
            claim.Parameters.AddWithValue("$limit", request.MaxRuns);
            claim.Parameters.AddWithValue("$own", request.IncludeOwnLeases);
            return ReadLeases(claim, request.Owner);
        });
    }

    /// <inheritdoc/>
    public Task<RunLease?> TryClaimRunAsync(RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        ThrowIfDisposed();
        return Enqueue((store, now) =>
        {
            var (runKey, _) = store.FindRunForWrite(runId);
            using var claim = store._writer.CreateCommand();
            claim.CommandText = """
                UPDATE runs SET lease_owner = $owner, lease_epoch = lease_epoch + 1, lease_expires_at = $expires
                WHERE id = $run AND status < 3
                  AND (lease_expires_at IS NULL OR lease_expires_at <= $now OR lease_owner = $owner)
                RETURNING run_id, lease_epoch, lease_expires_at
                """;
            claim.Parameters.AddWithValue("$owner", owner);
            claim.Parameters.AddWithValue("$expires", now + (long)leaseDuration.TotalMilliseconds);
            claim.Parameters.AddWithValue("$now", now);
            claim.Parameters.AddWithValue("$run", runKey);
            var leases = ReadLeases(claim, owner);
            return leases.Count == 0 ? null : leases[0];
        });
    }

    /// <inheritdoc/>
    public Task<RunLease> RenewLeaseAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        ThrowIfDisposed();
        return Enqueue((store, now) =>
        {
            var (runKey, _) = store.FindRunForWrite(lease.RunId);
            using var renew = store._writer.CreateCommand();
            renew.CommandText = """
                UPDATE runs SET lease_expires_at = $expires
                WHERE id = $run AND lease_epoch = $epoch AND lease_owner = $owner AND status < 3
                RETURNING run_id, lease_epoch, lease_expires_at
                """;
            renew.Parameters.AddWithValue("$expires", now + (long)leaseDuration.TotalMilliseconds);
            renew.Parameters.AddWithValue("$run", runKey);
            renew.Parameters.AddWithValue("$epoch", lease.Epoch);
            renew.Parameters.AddWithValue("$owner", lease.Owner);
            var leases = ReadLeases(renew, lease.Owner);
            if (leases.Count == 0)
            {
                using var current = store._writer.CreateCommand();
                current.CommandText = "SELECT lease_epoch FROM runs WHERE id = $run";
                current.Parameters.AddWithValue("$run", runKey);
                var epoch = current.ExecuteScalar() as long? ?? throw new RunNotFoundException(lease.RunId);
                throw new LeaseLostException(lease.RunId, lease.Epoch, epoch);
            }

            return leases[0];
        });
    }

    /// <inheritdoc/>
    public Task ReleaseLeaseAsync(RunLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ThrowIfDisposed();
        return Enqueue((store, _) =>
        {
            if (store.TryFindRunForWrite(lease.RunId) is not var (runKey, _))
            {
                return 0;
            }

            using var release = store._writer.CreateCommand();
            release.CommandText = "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $run AND lease_epoch = $epoch AND lease_owner = $owner";
            release.Parameters.AddWithValue("$run", runKey);
            release.Parameters.AddWithValue("$epoch", lease.Epoch);
            release.Parameters.AddWithValue("$owner", lease.Owner);
            return release.ExecuteNonQuery();
        });
    }

    private static List<RunLease> ReadLeases(SqliteCommand command, string owner)
    {
        using var reader = command.ExecuteReader();
        var leases = new List<RunLease>();
        while (reader.Read())
        {
            leases.Add(new RunLease(RunId.Parse(reader.GetString(0)), owner, reader.GetInt64(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
        }

        return leases;
    }
}
