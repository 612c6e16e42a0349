using Durably.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Durably.Postgres;

// Queues with limits (IRunQueueStore) for several workers on several machines. Every claim of queued runs, and every queued
// start, locks its queues' rows (SELECT ... FOR UPDATE) in its transaction: claims of one queue are serialized across all
// workers, each sees the leases the one before it committed, so two workers never both take the last slot, and two starts
// never both escape one debounce. Times are the database's clock_timestamp(), read after the lock is held.
public sealed partial class PostgresJournalStore : IRunQueueStore
{
    // While no queue is configured, claims look for one at most this often: a store without queues pays one tiny query a second.
    private static readonly TimeSpan QueueLookInterval = TimeSpan.FromSeconds(1);

    private long _queuesLookedAt = long.MinValue;
    private volatile bool _queuesSeen;

    /// <inheritdoc/>
    public Task ConfigureQueueAsync(QueueDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        return RunAsync("configuring a queue", async connection =>
        {
            await using var upsert = new NpgsqlCommand($"""
                WITH upserted AS (
                    INSERT INTO {_schema}.queues(name, max_concurrency, max_per_key, runs_per_minute, rate_per_key, paused, updated_at, tokens_per_minute)
                    VALUES($1, $2, $3, $4, $5, $6, clock_timestamp(), $8)
                    ON CONFLICT (name) DO UPDATE SET max_concurrency = excluded.max_concurrency, max_per_key = excluded.max_per_key,
                        runs_per_minute = excluded.runs_per_minute, rate_per_key = excluded.rate_per_key, paused = excluded.paused, updated_at = excluded.updated_at,
                        tokens_per_minute = excluded.tokens_per_minute
                    RETURNING 1),
                forgotten AS (
                    -- Only a token-limited queue records tokens: what it recorded before the limit was lifted is not read again.
                    DELETE FROM {_schema}.queue_tokens WHERE queue = $1 AND $8::bigint IS NULL)
                SELECT pg_notify($7, '') FROM upserted;
                """, connection);
            upsert.Parameters.Add(new NpgsqlParameter { Value = definition.Name });
            upsert.Parameters.Add(new NpgsqlParameter<int?> { TypedValue = definition.MaxConcurrency, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
            upsert.Parameters.Add(new NpgsqlParameter<int?> { TypedValue = definition.MaxConcurrencyPerKey, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
            upsert.Parameters.Add(new NpgsqlParameter<int?> { TypedValue = definition.RunsPerMinute, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
            upsert.Parameters.Add(new NpgsqlParameter { Value = definition.RateLimitPerKey });
            upsert.Parameters.Add(new NpgsqlParameter { Value = definition.Paused });
            upsert.Parameters.Add(new NpgsqlParameter { Value = _sql.Channel });
            upsert.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = definition.TokensPerMinute, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
            _queuesSeen = true;
            return await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<QueueState>> ListQueuesAsync(CancellationToken cancellationToken = default)
        => RunAsync<IReadOnlyList<QueueState>>("listing queues", async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            var queues = await ReadQueuesAsync(connection, transaction, null, lockRows: false, cancellationToken).ConfigureAwait(false);
            var now = await ClockAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            var states = new List<QueueState>();
            foreach (var queue in queues)
            {
                var rows = await ReadQueueRowsAsync(connection, transaction, queue.Name, now, cancellationToken).ConfigureAwait(false);
                var window = await ReadQueueWindowAsync(connection, transaction, queue.Name, now, cancellationToken).ConfigureAwait(false);
                var tokens = await ReadQueueTokensAsync(connection, transaction, queue, now, prune: false, cancellationToken).ConfigureAwait(false);
                var waiting = rows.Where(r => r.Waiting).Select(r => r.Candidate).ToList();
                var admissible = QueueAdmission.Admit(queue, rows.Where(r => r.Live).Select(r => r.Key), window, tokens, waiting, int.MaxValue).Count;
                states.Add(new QueueState(queue)
                {
                    Running = rows.Count(r => r.Live),
                    Queued = waiting.Count,
                    Limited = waiting.Count - admissible,
                    Suspended = rows.Count(r => !r.Live && !r.Waiting),
                    DequeuedInWindow = window.Count,
                    TokensInWindow = tokens.Sum(t => t.Tokens),
                });
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return states;
        }, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>The run, its first entry and its placement are written in one transaction that holds the queue's row lock, so a
    /// debounce is decided race-free across workers and processes. Sends a wake-up so a waiting worker claims at once.</remarks>
    public Task<QueuedStart> StartQueuedRunAsync(RunAppend start, QueuePlacement placement, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(placement);
        placement.Validate();
        RunAppendValidator.ValidateStart(start);
        // The start's large input goes to the blob table as in any append, in the start's transaction.
        List<OffloadedBlob>? startBlobs = null;
        var data = start.Entries.Select(e => PayloadBlobs.Encode(e, _options.MaxEntryBytes, _options.PayloadBlobs, ref startBlobs)).ToArray();
        var started = (Journal.RunStarted)start.Entries[0];
        List<OffloadedBlob>? signalBlob = null;
        Journal.Payload? signalPayload = null;
        if (placement.DebounceSignal is { } debounceSignal)
        {
            StoreLimits.CheckSignal(debounceSignal, _options.PayloadBlobs?.MaxBlobBytes ?? _options.MaxEntryBytes);
            signalPayload = PayloadBlobs.Offload(debounceSignal.Payload, _options.PayloadBlobs, ref signalBlob);
        }

        return RunAsync("starting a queued run", async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            if ((await ReadQueuesAsync(connection, transaction, placement.Queue, lockRows: true, cancellationToken).ConfigureAwait(false)).Count == 0)
            {
                throw new QueueNotFoundException(placement.Queue);
            }

            _queuesSeen = true;
            await using (var exists = new NpgsqlCommand($"SELECT 1 FROM {_schema}.runs WHERE run_id = $1", connection, transaction))
            {
                exists.Parameters.Add(new NpgsqlParameter { Value = start.RunId.Value });
                if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
                {
                    return new QueuedStart(start.RunId, QueuedStartOutcome.Existing);
                }
            }

            if (placement.DebounceWindow is { } debounce)
            {
                await using var recent = new NpgsqlCommand($"""
                    SELECT run_id FROM {_schema}.runs
                    WHERE queue = $1 AND queue_key = $2 AND created_at > clock_timestamp() - $3
                    ORDER BY created_at DESC, id DESC LIMIT 1
                    """, connection, transaction);
                recent.Parameters.Add(new NpgsqlParameter { Value = placement.Queue });
                recent.Parameters.Add(new NpgsqlParameter { Value = placement.Key! });
                recent.Parameters.Add(new NpgsqlParameter { Value = debounce });
                if (await recent.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string earlier)
                {
                    // In the transaction of the decision: the merge and its signal commit together.
                    var earlierRun = RunId.Parse(earlier);
                    DeliveredSignal? delivered = null;
                    if (placement.DebounceSignal is { } signal)
                    {
                        try
                        {
                            delivered = await WriteSignalAsync(connection, transaction, earlierRun, signal, signalPayload, signalBlob, cancellationToken).ConfigureAwait(false);
                        }
                        catch (RunFinishedException)
                        {
                            // The earlier run has finished: nobody would read the signal.
                        }
                    }

                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return new QueuedStart(earlierRun, QueuedStartOutcome.Debounced) { Signal = delivered };
                }
            }

            await using (var insert = new NpgsqlCommand($"""
                WITH created AS (
                    INSERT INTO {_schema}.runs(run_id, workflow, status, created_at, updated_at, next_seq, wake_at, status_detail, queue, queue_key, priority)
                    VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp(), $4, $5, $6, $7, $8, $9)
                    RETURNING id),
                inserted AS (
                    INSERT INTO {_schema}.entries(run, seq, data)
                    SELECT created.id, x.seq - 1, x.data FROM created, unnest($10::bytea[]) WITH ORDINALITY AS x(data, seq)
                    RETURNING 1)
                SELECT pg_notify($11, '') FROM created;
                """, connection, transaction))
            {
                var status = start.Status ?? RunStatus.Pending;
                insert.Parameters.Add(new NpgsqlParameter { Value = start.RunId.Value });
                insert.Parameters.Add(new NpgsqlParameter { Value = started.Workflow });
                insert.Parameters.Add(new NpgsqlParameter { Value = (short)status });
                insert.Parameters.Add(new NpgsqlParameter { Value = (long)data.Length });
                insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset?> { TypedValue = start.Status is null ? null : start.WakeAt, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
                insert.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = start.Status is null ? null : start.StatusDetail, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                insert.Parameters.Add(new NpgsqlParameter { Value = placement.Queue });
                insert.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = placement.Key, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                insert.Parameters.Add(new NpgsqlParameter { Value = placement.Priority });
                insert.Parameters.Add(new NpgsqlParameter { Value = data });
                insert.Parameters.Add(new NpgsqlParameter { Value = _sql.Channel });
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            if (startBlobs is not null)
            {
                await using var keep = new NpgsqlCommand($"""
                    WITH kept AS ({UpsertBlobsSql} RETURNING hash)
                    INSERT INTO {_schema}.blob_refs(run, hash)
                    SELECT r.id, kept.hash FROM kept, {_schema}.runs r WHERE r.run_id = $3
                    """, connection, transaction);
                keep.Parameters.AddRange(BlobParameters(startBlobs));
                keep.Parameters.Add(new NpgsqlParameter { Value = start.RunId.Value });
                await keep.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new QueuedStart(start.RunId, QueuedStartOutcome.Started);
        }, cancellationToken);
    }

    // Leases queued runs into the claim's remaining room, queue by queue, as each queue's limits admit.
    private async Task ClaimQueuedAsync(NpgsqlConnection connection, ClaimRequest request, List<RunLease> leases, CancellationToken cancellationToken)
    {
        if (!await AnyQueueAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var queues = await ReadQueuesAsync(connection, transaction, null, lockRows: true, cancellationToken).ConfigureAwait(false);
        var now = await ClockAsync(connection, transaction, cancellationToken).ConfigureAwait(false);

        // Handed to the caller only once committed.
        var claimed = new List<RunLease>();
        foreach (var queue in queues)
        {
            var room = request.MaxRuns - leases.Count - claimed.Count;
            if (room <= 0)
            {
                break;
            }

            var rows = await ReadQueueRowsAsync(connection, transaction, queue.Name, now, cancellationToken).ConfigureAwait(false);
            var chosen = new List<long>();
            if (request.IncludeOwnLeases)
            {
                // Runs this owner's previous incarnation held keep the slots they hold.
                chosen.AddRange(rows.Where(r => r.Live && r.Owner == request.Owner).Take(room).Select(r => r.Id));
            }

            var window = await ReadQueueWindowAsync(connection, transaction, queue.Name, now, cancellationToken).ConfigureAwait(false);
            var tokens = await ReadQueueTokensAsync(connection, transaction, queue, now, prune: true, cancellationToken).ConfigureAwait(false);
            chosen.AddRange(QueueAdmission.Admit(queue, rows.Where(r => r.Live).Select(r => r.Key), window, tokens, rows.Where(r => r.Waiting).Select(r => r.Candidate), room - chosen.Count).Select(c => c.Id));
            claimed.AddRange(await LeaseQueuedAsync(connection, transaction, chosen, request.Owner, request.LeaseDuration, cancellationToken).ConfigureAwait(false));
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        leases.AddRange(claimed);
    }

    // The lease of a queued run claimed by id: only if the limits admit it now and no waiting run of its queue ranks before it.
    private async Task<RunLease?> TryClaimQueuedAsync(NpgsqlConnection connection, RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        string? name;
        await using (var find = new NpgsqlCommand($"SELECT queue FROM {_schema}.runs WHERE run_id = $1", connection, transaction))
        {
            find.Parameters.Add(new NpgsqlParameter { Value = runId.Value });
            name = await find.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }

        var queues = name is null ? [] : await ReadQueuesAsync(connection, transaction, name, lockRows: true, cancellationToken).ConfigureAwait(false);
        if (queues.Count == 0)
        {
            return null;
        }

        var now = await ClockAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        var rows = await ReadQueueRowsAsync(connection, transaction, name!, now, cancellationToken).ConfigureAwait(false);
        var self = rows.FirstOrDefault(r => r.RunId == runId.Value);
        if (self is null)
        {
            return null;
        }

        var take = self.Live && self.Owner == owner;
        if (!take)
        {
            var window = await ReadQueueWindowAsync(connection, transaction, name!, now, cancellationToken).ConfigureAwait(false);
            var tokens = await ReadQueueTokensAsync(connection, transaction, queues[0], now, prune: true, cancellationToken).ConfigureAwait(false);
            var first = QueueAdmission.Admit(queues[0], rows.Where(r => r.Live).Select(r => r.Key), window, tokens, rows.Where(r => r.Waiting).Select(r => r.Candidate), 1);
            take = first.Count == 1 && first[0].Id == self.Id;
        }

        var leases = take ? await LeaseQueuedAsync(connection, transaction, [self.Id], owner, leaseDuration, cancellationToken).ConfigureAwait(false) : [];
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return leases.Count == 0 ? null : leases[0];
    }

    private async Task<bool> AnyQueueAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (_queuesSeen)
        {
            return true;
        }

        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _queuesLookedAt);
        if (last != long.MinValue && now - last < (long)QueueLookInterval.TotalMilliseconds)
        {
            return false;
        }

        Interlocked.Exchange(ref _queuesLookedAt, now);
        await using var any = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM {_schema}.queues)", connection);
        _queuesSeen = await any.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
        return _queuesSeen;
    }

    private async Task<List<RunLease>> LeaseQueuedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<long> ids, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        // first_dequeued_at is the clock at this update, later than the clock the window was counted at: a run counted out of
        // the window was first dequeued at least a whole window before this one.
        await using var claim = new NpgsqlCommand($"""
            UPDATE {_schema}.runs SET lease_owner = $1, lease_epoch = lease_epoch + 1, lease_expires_at = clock_timestamp() + $2,
                first_dequeued_at = coalesce(first_dequeued_at, clock_timestamp())
            WHERE id = ANY($3) AND status < 3
            RETURNING run_id, lease_epoch, lease_expires_at
            """, connection, transaction);
        claim.Parameters.Add(new NpgsqlParameter { Value = owner });
        claim.Parameters.Add(new NpgsqlParameter { Value = leaseDuration });
        claim.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray() });
        return await ReadLeasesAsync(claim, owner, cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<QueueDefinition>> ReadQueuesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string? name, bool lockRows, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand($"""
            SELECT name, max_concurrency, max_per_key, runs_per_minute, rate_per_key, paused, tokens_per_minute FROM {_schema}.queues
            WHERE $1::text IS NULL OR name = $1 ORDER BY name {(lockRows ? "FOR UPDATE" : string.Empty)}
            """, connection, transaction);
        select.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = name, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var queues = new List<QueueDefinition>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            queues.Add(new QueueDefinition(reader.GetString(0))
            {
                MaxConcurrency = reader.IsDBNull(1) ? null : reader.GetInt32(1),
                MaxConcurrencyPerKey = reader.IsDBNull(2) ? null : reader.GetInt32(2),
                RunsPerMinute = reader.IsDBNull(3) ? null : reader.GetInt32(3),
                RateLimitPerKey = reader.GetBoolean(4),
                Paused = reader.GetBoolean(5),
                TokensPerMinute = reader.IsDBNull(6) ? null : reader.GetInt64(6),
            });
        }

        return queues;
    }

    private static async Task<DateTimeOffset> ClockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var clock = new NpgsqlCommand("SELECT clock_timestamp()", connection, transaction);
        await using var reader = await clock.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return reader.GetFieldValue<DateTimeOffset>(0);
    }

    // A queue's unfinished runs in the queue's order: priority, then resuming before new, then oldest.
    private async Task<List<QueuedRow>> ReadQueueRowsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string queue, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand($"""
            SELECT id, run_id, queue_key, lease_owner, coalesce(lease_expires_at > $2, false), status < 2 OR (status = 2 AND coalesce(wake_at <= $2, false)), first_dequeued_at IS NULL
            FROM {_schema}.runs
            WHERE queue = $1 AND status < 3
            ORDER BY priority DESC, first_dequeued_at IS NULL, id
            """, connection, transaction);
        select.Parameters.Add(new NpgsqlParameter { Value = queue });
        select.Parameters.Add(new NpgsqlParameter { Value = now });
        await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<QueuedRow>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var live = reader.GetBoolean(4);
            rows.Add(new QueuedRow(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), live, !live && reader.GetBoolean(5), reader.GetBoolean(6)));
        }

        return rows;
    }

    // The partition keys of the queue's runs first dequeued within the rate window before now.
    private async Task<List<string?>> ReadQueueWindowAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string queue, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand($"SELECT queue_key FROM {_schema}.runs WHERE queue = $1 AND first_dequeued_at > $2", connection, transaction);
        select.Parameters.Add(new NpgsqlParameter { Value = queue });
        select.Parameters.Add(new NpgsqlParameter { Value = now - QueueDefinition.RateWindow });
        await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<string?>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(reader.IsDBNull(0) ? null : reader.GetString(0));
        }

        return keys;
    }

    // The model tokens the queue's runs used within the rate window before now, by key. A claim (which holds the queue's row
    // lock) first deletes what fell out of the window, so the table holds about a minute of each token-limited queue.
    private async Task<List<QueueTokenUse>> ReadQueueTokensAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, QueueDefinition queue, DateTimeOffset now, bool prune, CancellationToken cancellationToken)
    {
        if (queue.TokensPerMinute is null)
        {
            return [];
        }

        var since = now - QueueDefinition.RateWindow;
        if (prune)
        {
            await using var delete = new NpgsqlCommand($"DELETE FROM {_schema}.queue_tokens WHERE queue = $1 AND at <= $2", connection, transaction);
            delete.Parameters.Add(new NpgsqlParameter { Value = queue.Name });
            delete.Parameters.Add(new NpgsqlParameter { Value = since });
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var select = new NpgsqlCommand($"SELECT queue_key, tokens FROM {_schema}.queue_tokens WHERE queue = $1 AND at > $2", connection, transaction);
        select.Parameters.Add(new NpgsqlParameter { Value = queue.Name });
        select.Parameters.Add(new NpgsqlParameter { Value = since });
        await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var uses = new List<QueueTokenUse>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            uses.Add(new QueueTokenUse(reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt64(1)));
        }

        return uses;
    }

    // Records, in the append's transaction, the model tokens of the batch's entries whose runs are on token-limited queues, at the
    // database clock. Only entries that this batch wrote count: the entry is there and the append held the run's current lease
    // (a conflicting append at the same sequence by a worker that lost the lease writes nothing).
    private void AddQueueTokenCommand(NpgsqlBatch batch, IReadOnlyList<AppendItem> items)
    {
        var tokens = items.Where(i => i.Tokens is not null).SelectMany(i => i.Tokens!).ToList();
        batch.BatchCommands.Add(Command(
            $"""
            INSERT INTO {_schema}.queue_tokens(queue, queue_key, at, tokens)
            SELECT r.queue, r.queue_key, clock_timestamp(), x.tokens
            FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS x(run_id, seq, epoch, tokens)
            JOIN {_schema}.runs r ON r.run_id = x.run_id AND r.queue IS NOT NULL AND (x.epoch IS NULL OR r.lease_epoch = x.epoch)
            JOIN {_schema}.queues q ON q.name = r.queue AND q.tokens_per_minute IS NOT NULL
            JOIN {_schema}.entries e ON e.run = r.id AND e.seq = x.seq
            """,
            Array(tokens.Select(t => t.Run.Value).ToArray(), NpgsqlDbType.Text),
            Array(tokens.Select(t => t.Sequence).ToArray(), NpgsqlDbType.Bigint),
            Array(tokens.Select(t => t.Epoch).ToArray(), NpgsqlDbType.Bigint),
            Array(tokens.Select(t => t.Tokens).ToArray(), NpgsqlDbType.Bigint)));
    }

    // Live: holds a slot (an unexpired lease). Waiting: runnable and not live.
    private sealed record QueuedRow(long Id, string RunId, string? Key, string? Owner, bool Live, bool Waiting, bool FirstDequeue)
    {
        public QueueCandidate<long> Candidate => new(Id, Key, FirstDequeue);
    }
}
