using System.Diagnostics;
using Durably.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Durably.Postgres;

// The store's side of the group commit (GroupCommitWriter decides batching, waiter completion and retries): a batch
// is one transaction sent as one NpgsqlBatch (BEGIN, lock, appends, COMMIT: one round-trip); the appends are
// conditional on the run's sequence and lease epoch, and those whose condition failed come back as rows. A
// connection lost after the COMMIT was sent leaves the commit in doubt, resolved by reading the entries back.
public sealed partial class PostgresJournalStore
{
    // A batch's parameters travel in one message; this keeps it well below the server's 1 GiB limit.
    private const long MaxBatchBytes = 64L * 1024 * 1024;

    private NpgsqlConnection? _connection;
    private (int Pid, DateTime Started) _backend;
    private NpgsqlBatch? _batch;
    private int _batchCount;
    private bool _dropConnection;

    // Opens (or reuses) the writer connection and prepares the batch; nothing is sent yet.
    private async ValueTask PrepareBatchAsync(IReadOnlyList<AppendItem> items)
    {
        var connection = await GetConnectionAsync().ConfigureAwait(false);
        var waves = BuildWaves(items);
        var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
        var runIds = items.SelectMany(i => i.Appends).Where(a => a.ExpectedSequence > 0).Select(a => a.RunId.Value).Distinct().ToArray();
        if (runIds.Length > 0)
        {
            batch.BatchCommands.Add(Command(_sql.LockRuns, Array(runIds, NpgsqlDbType.Text)));
        }

        foreach (var wave in waves)
        {
            batch.BatchCommands.Add(WaveCommand(wave, items));
        }

        if (items.Any(i => i.Blobs is not null))
        {
            AddBlobCommands(batch, items);
        }

        if (items.Any(i => i.Tokens is not null))
        {
            AddQueueTokenCommand(batch, items);
        }

        if (items.Any(i => i.NotifiesWorkers))
        {
            batch.BatchCommands.Add(Command(_sql.Notify, new NpgsqlParameter { Value = _sql.Channel, NpgsqlDbType = NpgsqlDbType.Text }));
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        _batch = batch;
        _batchCount = items.Count;
    }

    // Sends the prepared batch; the calls whose conditional write found a conflict come back as rows.
    private async ValueTask SendBatchAsync(GroupCommitBatch<AppendItem> items)
    {
        await using var batch = _batch!;
        _batch = null;
        var failed = new Dictionary<int, Dictionary<RunId, (bool Found, long Actual, long Epoch)>>();
        await using (var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false))
        {
            do
            {
                while (await reader.ReadAsync().ConfigureAwait(false))
                {
                    if (reader.FieldCount != 5)
                    {
                        continue; // the lock's count or the notification
                    }

                    var call = reader.GetInt32(0);
                    if (!failed.TryGetValue(call, out var runs))
                    {
                        failed[call] = runs = [];
                    }

                    runs[RunId.Parse(reader.GetString(1))] = (reader.GetBoolean(2), reader.IsDBNull(3) ? 0 : reader.GetInt64(3), reader.IsDBNull(4) ? 0 : reader.GetInt64(4));
                }
            }
            while (await reader.NextResultAsync().ConfigureAwait(false));
        }

        if (_options.AfterCommitForTesting is { } fault)
        {
            await fault(batch.Connection!).ConfigureAwait(false);
        }

        foreach (var (call, runs) in failed)
        {
            items.Fail(items.Items[call], Conflict(items.Items[call], runs));
        }
    }

    private GroupCommitError ClassifyWriteError(Exception ex, GroupCommitStage stage)
    {
        if (!PostgresErrors.IsConnectionFailure(ex))
        {
            // Not expected: the connection is dropped (RollBackAsync) and every waiter gets an answer.
            _dropConnection = true;
            return GroupCommitError.NothingCommitted(new JournalStoreException($"Writing to {_location} failed unexpectedly: {ex.Message}", ex) { StoreLocation = _location });
        }

        if (stage == GroupCommitStage.Write)
        {
            // Nothing was sent.
            return GroupCommitError.NothingCommitted(Translate(ex, "connecting to write"));
        }

        if (_connection is not { } connection || connection.FullState.HasFlag(System.Data.ConnectionState.Broken) || connection.State == System.Data.ConnectionState.Closed || ex is not PostgresException pg)
        {
            // The COMMIT was in the batch: it may have happened. Find out before answering.
            _dropConnection = true;
            return GroupCommitError.InDoubt(Translate(ex, "committing"));
        }

        // The transaction failed on the server and the connection is still usable: nothing was committed.
        if (PostgresErrors.IsRetryable(pg))
        {
            // Another transaction won a race (a deadlock, or a run created at the same moment); the next attempt
            // sees its result and reports it as a conflict where it is one.
            Log.BatchRetried(_logger, _location, _batchCount, pg.SqlState);
            return GroupCommitError.Transient(Translate(ex, "writing"));
        }

        // Something in one append the server refuses (a value it cannot store) is written alone so only that one fails.
        return PostgresErrors.IsServerFailure(pg)
            ? GroupCommitError.NothingCommitted(Translate(ex, "writing"))
            : GroupCommitError.Unexpected(Translate(ex, "writing"));
    }

    private async ValueTask RollBackBatchAsync()
    {
        if (_batch is { } prepared)
        {
            _batch = null;
            await prepared.DisposeAsync().ConfigureAwait(false);
        }

        if (_dropConnection)
        {
            _dropConnection = false;
            await DropConnectionAsync().ConfigureAwait(false);
            _dataSource.Clear();
            return;
        }

        if (_connection is null)
        {
            return;
        }

        try
        {
            await using var rollback = new NpgsqlCommand("ROLLBACK", _connection);
            await rollback.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (Exception rollbackError) when (PostgresErrors.IsConnectionFailure(rollbackError))
        {
            await DropConnectionAsync().ConfigureAwait(false);
        }
    }

    // The connection dropped after the batch, COMMIT included, was sent. Entries are immutable and unique by run
    // and sequence, so reading them back tells whether the transaction committed. Before that, the old server
    // process is ended and gone, so that the answer cannot change afterwards.
    private async ValueTask<IReadOnlyList<bool>> ResolveInDoubtAsync(IReadOnlyList<AppendItem> items, Exception lost)
    {
        var backend = _backend;
        Log.CommitInDoubt(_logger, _location, items.Count, lost);
        var clock = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
                await EndBackendAsync(connection, backend, clock).ConfigureAwait(false);
                var landed = await ReadBackAsync(connection, items).ConfigureAwait(false);
                Log.CommitResolved(_logger, _location, landed.Count(l => l), landed.Count(l => !l));
                return landed;
            }
            catch (Exception ex) when (PostgresErrors.IsConnectionFailure(ex))
            {
                if (clock.Elapsed >= _options.InDoubtResolutionTimeout)
                {
                    Log.CommitUnresolved(_logger, _location, items.Count, ex);
                    throw new JournalStoreException($"The connection to the PostgreSQL server at {_location} was lost while committing, and the server could not be reached within {_options.InDoubtResolutionTimeout.TotalSeconds:0.#} s to learn whether the commit happened. The append may or may not have been written: read the run before writing it again. ({lost.Message})", lost) { StoreLocation = _location };
                }

                await Task.Delay(delay).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.TicksPerSecond));
            }
        }
    }

    private async Task EndBackendAsync(NpgsqlConnection connection, (int Pid, DateTime Started) backend, Stopwatch clock)
    {
        // The server may not have noticed the lost connection yet, and a backend still alive could commit later.
        await using var end = new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2", connection);
        end.Parameters.Add(new NpgsqlParameter { Value = backend.Pid });
        end.Parameters.Add(new NpgsqlParameter { Value = backend.Started, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await end.ExecuteNonQueryAsync().ConfigureAwait(false);

        await using var gone = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2", connection);
        gone.Parameters.Add(new NpgsqlParameter { Value = backend.Pid });
        gone.Parameters.Add(new NpgsqlParameter { Value = backend.Started, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        while ((long)(await gone.ExecuteScalarAsync().ConfigureAwait(false))! > 0)
        {
            if (clock.Elapsed >= _options.InDoubtResolutionTimeout)
            {
                throw new TimeoutException($"The server process {backend.Pid} of the lost connection did not end.");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    // Returns, per item, whether every entry it appends is stored with exactly its bytes.
    private async Task<bool[]> ReadBackAsync(NpgsqlConnection connection, IReadOnlyList<AppendItem> items)
    {
        var owners = new List<(int Item, byte[] Data)>();
        var runIds = new List<string>();
        var sequences = new List<long>();
        var expected = new int[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            for (var a = 0; a < item.Appends.Count; a++)
            {
                for (var e = 0; e < item.Encoded[a].Length; e++)
                {
                    owners.Add((i, item.Encoded[a][e]));
                    runIds.Add(item.Appends[a].RunId.Value);
                    sequences.Add(item.Appends[a].ExpectedSequence + e);
                    expected[i]++;
                }
            }
        }

        var matched = new int[items.Count];
        if (owners.Count > 0)
        {
            await using var read = new NpgsqlCommand(_sql.ReadBack, connection);
            read.Parameters.Add(Array(runIds.ToArray(), NpgsqlDbType.Text));
            read.Parameters.Add(Array(sequences.ToArray(), NpgsqlDbType.Bigint));
            await using var reader = await read.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                var (item, data) = owners[(int)reader.GetInt64(0) - 1];
                if (reader.GetFieldValue<byte[]>(1).AsSpan().SequenceEqual(data))
                {
                    matched[item]++;
                }
            }
        }

        // An item without entries (a status change only) cannot be read back; writing it again is harmless,
        // as it does not move the journal's sequence.
        return [.. expected.Select((count, i) => count > 0 && matched[i] == count)];
    }

    // Splits a batch into waves in which every run appears once, keeping each run's appends in queue order
    // and each call's appends in one wave.
    private static List<List<int>> BuildWaves(IReadOnlyList<AppendItem> items)
    {
        var waves = new List<List<int>>();
        var next = new Dictionary<RunId, int>();
        for (var i = 0; i < items.Count; i++)
        {
            var wave = 0;
            foreach (var append in items[i].Appends)
            {
                wave = Math.Max(wave, next.GetValueOrDefault(append.RunId));
            }

            foreach (var append in items[i].Appends)
            {
                next[append.RunId] = wave + 1;
            }

            while (waves.Count <= wave)
            {
                waves.Add([]);
            }

            waves[wave].Add(i);
        }

        return waves;
    }

    private NpgsqlBatchCommand WaveCommand(List<int> wave, IReadOnlyList<AppendItem> items)
    {
        var count = wave.Sum(i => items[i].Appends.Count);
        var calls = new int[count];
        var runIds = new string[count];
        var expected = new long[count];
        var next = new long[count];
        var statuses = new int?[count];
        var wakeAt = new DateTime?[count];
        var waitingFor = new string?[count];
        var epochs = new long?[count];
        var workflows = new string?[count];
        var entryRuns = new List<string>();
        var entrySequences = new List<long>();
        var entryData = new List<byte[]>();
        var k = 0;
        foreach (var i in wave)
        {
            var item = items[i];
            for (var a = 0; a < item.Appends.Count; a++)
            {
                var append = item.Appends[a];
                calls[k] = i;
                runIds[k] = append.RunId.Value;
                expected[k] = append.ExpectedSequence;
                next[k] = append.ExpectedSequence + append.Entries.Count;
                statuses[k] = append.Status is { } status ? (int)status : null;
                wakeAt[k] = append.WakeAt?.UtcDateTime;
                waitingFor[k] = append.StatusDetail;
                epochs[k] = append.LeaseEpoch;
                workflows[k] = append.ExpectedSequence == 0 ? ((Journal.RunStarted)append.Entries[0]).Workflow : null;
                for (var e = 0; e < item.Encoded[a].Length; e++)
                {
                    entryRuns.Add(append.RunId.Value);
                    entrySequences.Add(append.ExpectedSequence + e);
                    entryData.Add(item.Encoded[a][e]);
                }

                k++;
            }
        }

        return Command(
            _sql.Append,
            Array(calls, NpgsqlDbType.Integer),
            Array(runIds, NpgsqlDbType.Text),
            Array(expected, NpgsqlDbType.Bigint),
            Array(next, NpgsqlDbType.Bigint),
            Array(statuses, NpgsqlDbType.Integer),
            Array(wakeAt, NpgsqlDbType.TimestampTz),
            Array(waitingFor, NpgsqlDbType.Text),
            Array(epochs, NpgsqlDbType.Bigint),
            Array(workflows, NpgsqlDbType.Text),
            Array(entryRuns.ToArray(), NpgsqlDbType.Text),
            Array(entrySequences.ToArray(), NpgsqlDbType.Bigint),
            Array(entryData.ToArray(), NpgsqlDbType.Bytea));
    }

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter Array<T>(T[] values, NpgsqlDbType elementType)
        => new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | elementType };

    private async Task<NpgsqlConnection> GetConnectionAsync()
    {
        if (_connection is { State: System.Data.ConnectionState.Open } open)
        {
            return open;
        }

        await DropConnectionAsync().ConfigureAwait(false);
        var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        try
        {
            // Identifies this connection's server process, to end it if the connection is lost during COMMIT.
            await using var who = new NpgsqlCommand("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()", connection);
            await using var reader = await who.ExecuteReaderAsync().ConfigureAwait(false);
            await reader.ReadAsync().ConfigureAwait(false);
            _backend = (reader.GetInt32(0), reader.GetFieldValue<DateTime>(1));
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _connection = connection;
        return connection;
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class BatchTarget(PostgresJournalStore store) : IGroupCommitTarget<AppendItem>
    {
        public ValueTask WriteAsync(GroupCommitBatch<AppendItem> batch) => store.PrepareBatchAsync(batch.Items);

        public ValueTask CommitAsync(GroupCommitBatch<AppendItem> batch) => store.SendBatchAsync(batch);

        public ValueTask RollBackAsync() => store.RollBackBatchAsync();

        public GroupCommitError Classify(Exception exception, GroupCommitStage stage) => store.ClassifyWriteError(exception, stage);

        public ValueTask<IReadOnlyList<bool>> ResolveInDoubtAsync(IReadOnlyList<AppendItem> items, Exception cause) => store.ResolveInDoubtAsync(items, cause);
    }
}
