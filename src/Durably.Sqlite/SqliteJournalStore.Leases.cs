using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite;

public sealed partial class SqliteJournalStore
{
    // Created on the writer thread at the first claim; only the writer thread uses it.
    private LeaseOwnerLocks? _owners;

    private LeaseOwnerLocks Owners => _owners ??= new LeaseOwnerLocks(Path);

    /// <inheritdoc/>
    /// <remarks>
    /// <para>Each claim increases the run's lease epoch. Leases are measured by the store's clock.</para>
    /// <para>A run whose unexpired lease is held by a worker whose process has died (or whose store was disposed) is claimable at
    /// once, not only when the lease expires: every owner that claims holds an OS lock on a file in the folder
    /// <c>{journal}.owners</c> while its store is open, and a claim that can take a holder's lock knows the holder is gone.
    /// Where that folder cannot be written, or the file system does not lock, leases only expire.</para>
    /// </remarks>
    public Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckClaim(request);
        ThrowIfDisposed();
        return Enqueue<IReadOnlyList<RunLease>>((store, now) =>
        {
            store.Owners.Hold(store._writer, request.Owner);
            var holders = store.WriterCommand("""
                SELECT DISTINCT lease_owner FROM runs INDEXED BY runs_leased
                WHERE lease_owner IS NOT NULL AND lease_owner <> $owner AND lease_expires_at > $now AND status < 3 AND (status <> 2 OR wake_at <= $now)
                """);
            holders.Parameters.AddWithValue("$owner", request.Owner);
            holders.Parameters.AddWithValue("$now", now);
            var dead = store.Owners.FindDead(ReadStrings(holders));

            // Each branch reads an index that holds only its candidates, in id order, and stops at the limit: the
            // cost of a claim does not grow with the runs that are finished, waiting for a later time or leased.
            // (SQLite uses a partial index only where the query repeats its condition: hence "status < 3 AND status = 2".)
            // Kept prepared when no dead holder is named (always, but for the claim right after a holder died).
            var named = dead.Count > 0 ? store._writer.CreateCommand() : null;
            using var dynamicClaim = named;
            var free = $"queue IS NULL AND (lease_expires_at IS NULL OR lease_expires_at <= $now{(named is null ? string.Empty : DeadHolders(named, dead))})";
            var own = request.IncludeOwnLeases
                ? "UNION SELECT id FROM runs INDEXED BY runs_leased WHERE lease_owner = $owner AND status < 3 AND queue IS NULL"
                : string.Empty;
            var sql = $"""
                UPDATE runs SET lease_owner = $owner, lease_epoch = lease_epoch + 1, lease_expires_at = $expires
                WHERE id IN (
                    SELECT id FROM (SELECT id FROM runs INDEXED BY runs_ready WHERE status < 2 AND {free} ORDER BY id LIMIT $limit)
                    UNION SELECT id FROM (SELECT id FROM runs INDEXED BY runs_active WHERE status < 3 AND status = 2 AND wake_at <= $now AND {free} ORDER BY id LIMIT $limit)
                    {own}
                    ORDER BY id LIMIT $limit)
                RETURNING run_id, lease_epoch, lease_expires_at
                """;
            var claim = store.ClaimCommand(named, sql);

            claim.Parameters.AddWithValue("$owner", request.Owner);
            claim.Parameters.AddWithValue("$expires", now + (long)request.LeaseDuration.TotalMilliseconds);
            claim.Parameters.AddWithValue("$now", now);
            claim.Parameters.AddWithValue("$limit", request.MaxRuns);
            var leases = ReadLeases(claim, request.Owner);
            if (leases.Count < request.MaxRuns)
            {
                store.ClaimQueued(request, now, dead, leases);
            }

            store.Owners.Forget(store._writer, dead);
            return leases;
        });
    }

    /// <inheritdoc/>
    /// <remarks>A run leased to a worker whose process has died is claimable at once, as with <see cref="ClaimRunsAsync"/>.</remarks>
    public Task<RunLease?> TryClaimRunAsync(RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        ThrowIfDisposed();
        return Enqueue((store, now) =>
        {
            var (runKey, _) = store.FindRun(store._writer, runId);
            store.Owners.Hold(store._writer, owner);
            var holder = store.WriterCommand("SELECT lease_owner FROM runs WHERE id = $run AND status < 3 AND lease_expires_at > $now AND lease_owner <> $owner");
            holder.Parameters.AddWithValue("$owner", owner);
            holder.Parameters.AddWithValue("$now", now);
            holder.Parameters.AddWithValue("$run", runKey);
            var dead = store.Owners.FindDead(ReadStrings(holder));

            var named = dead.Count > 0 ? store._writer.CreateCommand() : null;
            using var dynamicClaim = named;
            var sql = $"""
                UPDATE runs SET lease_owner = $owner, lease_epoch = lease_epoch + 1, lease_expires_at = $expires
                WHERE id = $run AND status < 3 AND (status <> 2 OR wake_at <= $now) AND queue IS NULL
                  AND (lease_expires_at IS NULL OR lease_expires_at <= $now OR lease_owner = $owner{(named is null ? string.Empty : DeadHolders(named, dead))})
                RETURNING run_id, lease_epoch, lease_expires_at
                """;
            var claim = store.ClaimCommand(named, sql);

            claim.Parameters.AddWithValue("$owner", owner);
            claim.Parameters.AddWithValue("$expires", now + (long)leaseDuration.TotalMilliseconds);
            claim.Parameters.AddWithValue("$now", now);
            claim.Parameters.AddWithValue("$run", runKey);
            var leases = ReadLeases(claim, owner);
            if (leases.Count == 0)
            {
                // A run on a queue is leased only as its queue's limits and order allow.
                leases = store.TryClaimQueued(runKey, owner, leaseDuration, now, dead);
            }

            store.Owners.Forget(store._writer, dead);
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
            var (runKey, _) = store.FindRun(store._writer, lease.RunId);
            store.Owners.Hold(store._writer, lease.Owner);
            var renew = store.WriterCommand("""
                UPDATE runs SET lease_expires_at = $expires
                WHERE id = $run AND lease_epoch = $epoch AND lease_owner = $owner AND status < 3
                RETURNING run_id, lease_epoch, lease_expires_at
                """);
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
            if (store.TryFindRun(store._writer, lease.RunId) is not var (runKey, _))
            {
                return 0;
            }

            var release = store.WriterCommand("UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $run AND lease_epoch = $epoch AND lease_owner = $owner");
            release.Parameters.AddWithValue("$run", runKey);
            release.Parameters.AddWithValue("$epoch", lease.Epoch);
            release.Parameters.AddWithValue("$owner", lease.Owner);
            return release.ExecuteNonQuery();
        });
    }

    // The claim's command: the kept one for its SQL, or the one made for this claim because it names dead holders.
    private SqliteCommand ClaimCommand(SqliteCommand? named, string sql)
    {
        if (named is null)
        {
            return WriterCommand(sql);
        }

        named.CommandText = sql;
        return named;
    }

    // " OR lease_owner IN (...)" naming the dead holders as parameters, or nothing when there are none.
    private static string DeadHolders(SqliteCommand command, List<string> dead)
    {
        if (dead.Count == 0)
        {
            return string.Empty;
        }

        for (var i = 0; i < dead.Count; i++)
        {
            command.Parameters.AddWithValue($"$dead{i}", dead[i]);
        }

        return $" OR lease_owner IN ({string.Join(", ", dead.Select((_, i) => $"$dead{i}"))})";
    }

    private static List<string> ReadStrings(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }

        return values;
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
