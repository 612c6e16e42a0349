using Durably.Journal;
using Durably.Storage;

namespace Durably.Sqlite;

// Queues with limits (IRunQueueStore). Every claim runs on the writer thread inside a write transaction, and SQLite runs
// one write transaction at a time over every process on the file: reading a queue's slots and leasing its runs is atomic
// without more locking, so two workers never both take the last slot.
public sealed partial class SqliteJournalStore : IRunQueueStore
{
    /// <inheritdoc/>
    public Task ConfigureQueueAsync(QueueDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        ThrowIfDisposed();
        return Enqueue((store, now) =>
        {
            var upsert = store.WriterCommand("""
                INSERT INTO queues(name, max_concurrency, max_per_key, runs_per_minute, rate_per_key, paused, updated_at, tokens_per_minute)
                VALUES($name, $max, $perKey, $rate, $ratePerKey, $paused, $now, $tokens)
                ON CONFLICT(name) DO UPDATE SET max_concurrency = excluded.max_concurrency, max_per_key = excluded.max_per_key,
                    runs_per_minute = excluded.runs_per_minute, rate_per_key = excluded.rate_per_key, paused = excluded.paused, updated_at = excluded.updated_at,
                    tokens_per_minute = excluded.tokens_per_minute
                """);
            upsert.Parameters.AddWithValue("$name", definition.Name);
            upsert.Parameters.AddWithValue("$max", (object?)definition.MaxConcurrency ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$perKey", (object?)definition.MaxConcurrencyPerKey ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$rate", (object?)definition.RunsPerMinute ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$ratePerKey", definition.RateLimitPerKey ? 1 : 0);
            upsert.Parameters.AddWithValue("$paused", definition.Paused ? 1 : 0);
            upsert.Parameters.AddWithValue("$now", now);
            upsert.Parameters.AddWithValue("$tokens", (object?)definition.TokensPerMinute ?? DBNull.Value);
            var written = upsert.ExecuteNonQuery();
            if (definition.TokensPerMinute is null)
            {
                // Only a token-limited queue records tokens: what it recorded before the limit was lifted is not read again.
                var forget = store.WriterCommand("DELETE FROM queue_tokens WHERE queue = $name");
                forget.Parameters.AddWithValue("$name", definition.Name);
                forget.ExecuteNonQuery();
            }

            return written;
        });
    }

    /// <inheritdoc/>
    /// <remarks>Read inside a write transaction, so the counts are one consistent moment of the store, as a claim sees it.</remarks>
    public Task<IReadOnlyList<QueueState>> ListQueuesAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return Enqueue<IReadOnlyList<QueueState>>((store, now) =>
        {
            var states = new List<QueueState>();
            foreach (var queue in store.ReadQueues())
            {
                var rows = store.ReadQueueRows(queue.Name);
                var window = store.ReadQueueWindow(queue.Name, now);
                var tokens = store.ReadQueueTokens(queue, now);
                var running = rows.Where(r => r.IsLive(now, [])).ToList();
                var waiting = rows.Where(r => r.IsWaiting(now, [])).Select(r => r.Candidate).ToList();
                var admissible = QueueAdmission.Admit(queue, running.Select(r => r.Key), window, tokens, waiting, int.MaxValue).Count;
                states.Add(new QueueState(queue)
                {
                    Running = running.Count,
                    Queued = waiting.Count,
                    Limited = waiting.Count - admissible,
                    Suspended = rows.Count(r => r.Status == (int)RunStatus.Suspended && !r.IsLive(now, []) && !r.IsWaiting(now, [])),
                    DequeuedInWindow = window.Count,
                    TokensInWindow = tokens.Sum(t => t.Tokens),
                });
            }

            return states;
        });
    }

    /// <inheritdoc/>
    /// <remarks>The run, its first entry and its placement are written in one transaction; a debounce looks for the earlier run in the same one.</remarks>
    public Task<QueuedStart> StartQueuedRunAsync(RunAppend start, QueuePlacement placement, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(placement);
        placement.Validate();
        RunAppendValidator.ValidateStart(start);
        ThrowIfDisposed();
        // The start's large input goes to a blob as in any append. The blobs (the input's, a debounce signal's) are written before the
        // transaction that may refer to them; one that ends up unreferenced (a debounced start writes no run) is removed by blob collection.
        List<OffloadedBlob>? offloaded = null;
        var entries = new EncodedEntry[start.Entries.Count];
        for (var i = 0; i < entries.Length; i++)
        {
            var data = PayloadBlobs.Encode(start.Entries[i], _options.MaxEntryBytes, _options.PayloadBlobs, ref offloaded);
            entries[i] = new EncodedEntry(data, Checksum.Compute(data));
        }

        string[]? startBlobs = offloaded is null ? null : [.. offloaded.Select(b => b.Sha256).Distinct()];
        List<OffloadedBlob>? signalBlob = null;
        Journal.Payload? signalPayload = null;
        if (placement.DebounceSignal is { } debounceSignal)
        {
            StoreLimits.CheckSignal(debounceSignal, _options.PayloadBlobs?.MaxBlobBytes ?? _options.MaxEntryBytes);
            signalPayload = PayloadBlobs.Offload(debounceSignal.Payload, _options.PayloadBlobs, ref signalBlob);
            if (signalBlob is not null)
            {
                (offloaded ??= []).AddRange(signalBlob);
            }
        }

        return WithBlobsAsync(offloaded, () => Enqueue((store, now) =>
        {
            var exists = store.WriterCommand("SELECT 1 FROM queues WHERE name = $name");
            exists.Parameters.AddWithValue("$name", placement.Queue);
            if (exists.ExecuteScalar() is null)
            {
                throw new QueueNotFoundException(placement.Queue);
            }

            if (store.TryFindRun(store._writer, start.RunId) is not null)
            {
                return new QueuedStart(start.RunId, QueuedStartOutcome.Existing);
            }

            if (placement.DebounceWindow is { } debounce)
            {
                var recent = store.WriterCommand("""
                    SELECT run_id, status FROM runs INDEXED BY runs_queue_started
                    WHERE queue = $queue AND queue IS NOT NULL AND queue_key = $key AND created_at > $since
                    ORDER BY created_at DESC, id DESC LIMIT 1
                    """);
                recent.Parameters.AddWithValue("$queue", placement.Queue);
                recent.Parameters.AddWithValue("$key", placement.Key);
                recent.Parameters.AddWithValue("$since", now - (long)debounce.TotalMilliseconds);
                string? earlier = null;
                var finished = false;
                using (var reader = recent.ExecuteReader())
                {
                    if (reader.Read())
                    {
                        earlier = reader.GetString(0);
                        finished = ((RunStatus)reader.GetInt32(1)).IsFinished();
                    }
                }

                if (earlier is not null)
                {
                    // In the transaction of the decision: the merge and its signal are one write.
                    var earlierRun = RunId.Parse(earlier);
                    var delivered = placement.DebounceSignal is { } signal && !finished
                        ? store.WriteSignal(earlierRun, signal, signalPayload, signalBlob, now)
                        : null;
                    return new QueuedStart(earlierRun, QueuedStartOutcome.Debounced) { Signal = delivered };
                }
            }

            store.ApplyAppend(start, entries, startBlobs, 0, now);
            var place = store.WriterCommand("UPDATE runs SET queue = $queue, queue_key = $key, priority = $priority WHERE run_id = $run");
            place.Parameters.AddWithValue("$queue", placement.Queue);
            place.Parameters.AddWithValue("$key", (object?)placement.Key ?? DBNull.Value);
            place.Parameters.AddWithValue("$priority", placement.Priority);
            place.Parameters.AddWithValue("$run", start.RunId.Value);
            place.ExecuteNonQuery();
            return new QueuedStart(start.RunId, QueuedStartOutcome.Started);
        }), cancellationToken);
    }

    // Leases queued runs into the claim's remaining room, queue by queue, as each queue's limits admit. Writer thread, in the claim's transaction.
    // Holders found dead by this claim hold no slot: their runs are taken over like expired ones.
    private void ClaimQueued(ClaimRequest request, long now, List<string> dead, List<RunLease> leases)
    {
        var queues = ReadQueues();
        foreach (var queue in queues)
        {
            var room = request.MaxRuns - leases.Count;
            if (room <= 0)
            {
                return;
            }

            var rows = ReadQueueRows(queue.Name);
            if (request.IncludeOwnLeases)
            {
                // Runs this owner's previous incarnation held keep the slots they hold.
                foreach (var own in rows.Where(r => r.Owner == request.Owner && r.IsLive(now, dead)).Take(room))
                {
                    leases.Add(LeaseQueued(own.Id, request.Owner, request.LeaseDuration, now));
                }

                room = request.MaxRuns - leases.Count;
            }

            var waiting = rows.Where(r => r.IsWaiting(now, dead)).Select(r => r.Candidate);
            var running = rows.Where(r => r.IsLive(now, dead)).Select(r => r.Key);
            foreach (var admitted in QueueAdmission.Admit(queue, running, ReadQueueWindow(queue.Name, now), ReadQueueTokens(queue, now), waiting, room))
            {
                leases.Add(LeaseQueued(admitted.Id, request.Owner, request.LeaseDuration, now));
            }
        }
    }

    // The lease of a queued run claimed by id: only if the limits admit it now and no waiting run of its queue ranks before it.
    private List<RunLease> TryClaimQueued(long runKey, string owner, TimeSpan leaseDuration, long now, List<string> dead)
    {
        var find = WriterCommand("SELECT queue FROM runs WHERE id = $run");
        find.Parameters.AddWithValue("$run", runKey);
        if (find.ExecuteScalar() is not string name || ReadQueues().FirstOrDefault(q => q.Name == name) is not { } queue)
        {
            return [];
        }

        var rows = ReadQueueRows(name);
        if (rows.FirstOrDefault(r => r.Id == runKey) is { } self && self.Owner == owner && self.IsLive(now, dead))
        {
            return [LeaseQueued(runKey, owner, leaseDuration, now)];
        }

        var first = QueueAdmission.Admit(queue, rows.Where(r => r.IsLive(now, dead)).Select(r => r.Key), ReadQueueWindow(name, now), ReadQueueTokens(queue, now), rows.Where(r => r.IsWaiting(now, dead)).Select(r => r.Candidate), 1);
        return first.Count == 1 && first[0].Id == runKey ? [LeaseQueued(runKey, owner, leaseDuration, now)] : [];
    }

    private RunLease LeaseQueued(long runKey, string owner, TimeSpan leaseDuration, long now)
    {
        var claim = WriterCommand("""
            UPDATE runs SET lease_owner = $owner, lease_epoch = lease_epoch + 1, lease_expires_at = $expires, first_dequeued_at = coalesce(first_dequeued_at, $now)
            WHERE id = $run
            RETURNING run_id, lease_epoch, lease_expires_at
            """);
        claim.Parameters.AddWithValue("$owner", owner);
        claim.Parameters.AddWithValue("$expires", now + (long)leaseDuration.TotalMilliseconds);
        claim.Parameters.AddWithValue("$now", now);
        claim.Parameters.AddWithValue("$run", runKey);
        return ReadLeases(claim, owner)[0];
    }

    private List<QueueDefinition> ReadQueues()
    {
        var select = WriterCommand("SELECT name, max_concurrency, max_per_key, runs_per_minute, rate_per_key, paused, tokens_per_minute FROM queues ORDER BY name");
        using var reader = select.ExecuteReader();
        var queues = new List<QueueDefinition>();
        while (reader.Read())
        {
            queues.Add(new QueueDefinition(reader.GetString(0))
            {
                MaxConcurrency = reader.IsDBNull(1) ? null : reader.GetInt32(1),
                MaxConcurrencyPerKey = reader.IsDBNull(2) ? null : reader.GetInt32(2),
                RunsPerMinute = reader.IsDBNull(3) ? null : reader.GetInt32(3),
                RateLimitPerKey = reader.GetInt64(4) != 0,
                Paused = reader.GetInt64(5) != 0,
                TokensPerMinute = reader.IsDBNull(6) ? null : reader.GetInt64(6),
            });
        }

        return queues;
    }

    // A queue's unfinished runs in the queue's order: priority, then resuming before new, then oldest.
    private List<QueuedRow> ReadQueueRows(string queue)
    {
        var select = WriterCommand("""
            SELECT id, queue_key, lease_owner, lease_expires_at, status, wake_at, first_dequeued_at IS NULL
            FROM runs INDEXED BY runs_queued
            WHERE queue = $queue AND queue IS NOT NULL AND status < 3
            ORDER BY priority DESC, first_dequeued_at IS NULL, id
            """);
        select.Parameters.AddWithValue("$queue", queue);
        using var reader = select.ExecuteReader();
        var rows = new List<QueuedRow>();
        while (reader.Read())
        {
            rows.Add(new QueuedRow(
                reader.GetInt64(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetInt64(3),
                reader.GetInt32(4),
                reader.IsDBNull(5) ? null : reader.GetInt64(5),
                reader.GetInt64(6) != 0));
        }

        return rows;
    }

    // The partition keys of the queue's runs first dequeued within the rate window.
    private List<string?> ReadQueueWindow(string queue, long now)
    {
        var select = WriterCommand("SELECT queue_key FROM runs INDEXED BY runs_queue_window WHERE queue = $queue AND first_dequeued_at > $since");
        select.Parameters.AddWithValue("$queue", queue);
        select.Parameters.AddWithValue("$since", now - (long)QueueDefinition.RateWindow.TotalMilliseconds);
        using var reader = select.ExecuteReader();
        var keys = new List<string?>();
        while (reader.Read())
        {
            keys.Add(reader.IsDBNull(0) ? null : reader.GetString(0));
        }

        return keys;
    }

    // Records the model tokens an append used, when its run is on a token-limited queue. Writer thread, in the append's transaction.
    private void RecordQueueTokens(long runKey, long tokens, long now)
    {
        var insert = WriterCommand("""
            INSERT INTO queue_tokens(queue, queue_key, at, tokens)
            SELECT r.queue, r.queue_key, $now, $tokens FROM runs r JOIN queues q ON q.name = r.queue
            WHERE r.id = $run AND q.tokens_per_minute IS NOT NULL
            """);
        insert.Parameters.AddWithValue("$now", now);
        insert.Parameters.AddWithValue("$tokens", tokens);
        insert.Parameters.AddWithValue("$run", runKey);
        insert.ExecuteNonQuery();
    }

    // The model tokens the queue's runs used within the rate window, by key. What fell out of the window is deleted first (this
    // runs in a write transaction), so the table holds about a minute of each token-limited queue.
    private List<QueueTokenUse> ReadQueueTokens(QueueDefinition queue, long now)
    {
        if (queue.TokensPerMinute is null)
        {
            return [];
        }

        var prune = WriterCommand("DELETE FROM queue_tokens WHERE queue = $queue AND at <= $since");
        prune.Parameters.AddWithValue("$queue", queue.Name);
        prune.Parameters.AddWithValue("$since", now - (long)QueueDefinition.RateWindow.TotalMilliseconds);
        prune.ExecuteNonQuery();
        var select = WriterCommand("SELECT queue_key, tokens FROM queue_tokens WHERE queue = $queue");
        select.Parameters.AddWithValue("$queue", queue.Name);
        using var reader = select.ExecuteReader();
        var uses = new List<QueueTokenUse>();
        while (reader.Read())
        {
            uses.Add(new QueueTokenUse(reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt64(1)));
        }

        return uses;
    }

    private sealed record QueuedRow(long Id, string? Key, string? Owner, long? ExpiresAt, int Status, long? WakeAt, bool FirstDequeue)
    {
        public QueueCandidate<long> Candidate => new(Id, Key, FirstDequeue);

        // Holds a slot: leased, unexpired, by a holder not known to be dead.
        public bool IsLive(long now, List<string> dead) => ExpiresAt > now && Owner is not null && !dead.Contains(Owner);

        // Waits for a slot: runnable (pending, running without a lease, or suspended and due) and not live.
        public bool IsWaiting(long now, List<string> dead) => !IsLive(now, dead) && (Status < 2 || (Status == 2 && WakeAt <= now));
    }
}
