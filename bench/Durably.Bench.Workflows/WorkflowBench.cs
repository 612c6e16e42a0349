using System.Diagnostics;
using System.Text.Json.Nodes;
using Durably.Sqlite;
using Microsoft.Data.Sqlite;

namespace Durably.Bench.Workflows;

// W workflows of N trivial durable steps, at most C at a time, on a SQLite journal. A batch starts W workflows and
// awaits them all; a round repeats batches on one fresh journal until it has lasted RoundSeconds.
internal sealed class WorkflowBench(BenchOptions options, AllocationProfile? profile)
{
    // Step latencies of the current window, preallocated so that recording them allocates nothing.
    private readonly double[] _latencies = new double[2_000_000];
    private int _recorded;
    private volatile bool _recording;

    private BenchOptions Options => options;

    public sealed record RoundResult(JsonObject Line, double Steps, long AllocatedBytes, double StepsPerSecond, double P50Ms, double P99Ms, double CpuUsPerStep,
        double AllocatedBytesPerStep, double BytesPerStep, RawSync.Result Raw);

    // Runs batches on a throw-away journal for WarmupSeconds so that the JIT has compiled (and tiered up) the hot
    // paths; returns the journal bytes per step, which the raw baseline then writes.
    public async Task<double> WarmUpAsync(string folder)
    {
        var batch = Math.Min(options.Workflows, Math.Max(4 * options.Concurrency, 50));
        await using var journal = await Journal.OpenAsync(this, folder);
        var before = await journal.CheckpointedBytesAsync();
        var started = Stopwatch.GetTimestamp();
        var steps = 0L;
        do
        {
            await journal.RunBatchAsync(batch);
            steps += (long)batch * options.Steps;
        }
        while (Stopwatch.GetElapsedTime(started).TotalSeconds < options.WarmupSeconds);

        return (await journal.CheckpointedBytesAsync() - before) / (double)steps;
    }

    public async Task<RoundResult> RunRoundAsync(int round, string folder, int rawBytes)
    {
        var raw = RawSync.Measure(folder + "-raw.bin", rawBytes, options.RawSeconds);

        await using var journal = await Journal.OpenAsync(this, folder);
        // The fresh file, its connections and the runtime's first runs are set up here, outside the window.
        await journal.RunBatchAsync(Math.Min(options.Workflows, Math.Max(2 * options.Concurrency, 20)));
        var bytesBefore = await journal.CheckpointedBytesAsync();

        _recorded = 0;
        _recording = true;
        var batches = 0;
        profile?.Start();
        var start = Snapshot.Take();
        do
        {
            await journal.RunBatchAsync(options.Workflows);
            batches++;
        }
        while (Stopwatch.GetElapsedTime(start.Timestamp).TotalSeconds < options.RoundSeconds);

        var window = start.Until(Snapshot.Take());
        profile?.Stop();
        _recording = false;
        var bytes = await journal.CheckpointedBytesAsync() - bytesBefore;

        var steps = (double)batches * options.Workflows * options.Steps;
        var count = Math.Min(_recorded, _latencies.Length);
        Array.Sort(_latencies, 0, count);
        var result = new RoundResult(
            [],
            steps,
            window.AllocatedBytes,
            steps / window.Wall.TotalSeconds,
            Stats.Percentile(_latencies, count, 0.50),
            Stats.Percentile(_latencies, count, 0.99),
            window.Cpu.TotalMicroseconds / steps,
            window.AllocatedBytes / steps,
            bytes / steps,
            raw);
        result.Line["kind"] = "workflow_round";
        result.Line["round"] = round;
        result.Line["batches"] = batches;
        result.Line["steps"] = steps;
        result.Line["wall_s"] = Stats.Round(window.Wall.TotalSeconds);
        result.Line["steps_per_s"] = Stats.Round(result.StepsPerSecond);
        result.Line["p50_step_ms"] = Stats.Round(result.P50Ms);
        result.Line["p99_step_ms"] = Stats.Round(result.P99Ms);
        result.Line["cpu_us_per_step"] = Stats.Round(result.CpuUsPerStep);
        result.Line["alloc_bytes_per_step"] = Stats.Round(result.AllocatedBytesPerStep);
        result.Line["bytes_per_step"] = Stats.Round(result.BytesPerStep);
        result.Line["threadpool_items_per_step"] = Stats.Round(window.ThreadPoolItems / steps);
        result.Line["lock_contentions_per_step"] = Stats.Round(window.LockContentions / steps);
        result.Line["gc_collections"] = new JsonArray([.. window.Collections.Select(c => (JsonNode)c)]);
        result.Line["raw_ops"] = raw.Ops;
        result.Line["raw_p50_ms"] = Stats.Round(raw.P50Ms);
        result.Line["raw_p99_ms"] = Stats.Round(raw.P99Ms);
        result.Line["ratio_p50_to_raw_p50"] = Stats.Round(result.P50Ms / raw.P50Ms);
        result.Line["loadavg"] = Machine.LoadAverage();
        return result;
    }

    private void Record(double milliseconds)
    {
        if (_recording)
        {
            var index = Interlocked.Increment(ref _recorded) - 1;
            if (index < _latencies.Length)
            {
                _latencies[index] = milliseconds;
            }
        }
    }

    // One journal file with its store and runtime, the workflow registered.
    private sealed class Journal(string folder, string path, int steps, SqliteJournalStore store, DurableRuntime runtime) : IAsyncDisposable
    {
        public static async Task<Journal> OpenAsync(WorkflowBench bench, string folder)
        {
            var options = bench.Options;
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, "journal.db");
            var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, Durability = options.Durability });
            var runtime = new DurableRuntime(store, new DurableRuntimeOptions
            {
                WorkerId = "bench",
                MaxConcurrentRuns = options.Concurrency,
                DefaultRetry = RetryPolicy.None,
            });
            var stepOptions = options.Effect ? StepOptions.IdempotentEffect : new StepOptions();
            runtime.Register<int, int>("bench", async (ctx, n) =>
            {
                var sum = 0;
                for (var i = 0; i < n; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    var value = i;
                    sum += await ctx.StepAsync("step", _ => Task.FromResult(value), stepOptions);
                    bench.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }

                return sum;
            });
            await runtime.StartAsync();
            return new Journal(folder, path, options.Steps, store, runtime);
        }

        // Starts are concurrent; the runtime executes at most C runs at a time and queues the rest as pending.
        public async Task RunBatchAsync(int workflows)
        {
            var handles = new Task<RunHandle>[workflows];
            for (var i = 0; i < workflows; i++)
            {
                handles[i] = runtime.Client.StartAsync("bench", steps);
            }

            var results = new Task<int>[workflows];
            for (var i = 0; i < workflows; i++)
            {
                results[i] = (await handles[i]).GetResultAsync<int>();
            }

            await Task.WhenAll(results);
        }

        // Moves the WAL into the database file and truncates it, then returns the file's size: the bytes the journal
        // holds, without the WAL's preallocated, reused frames.
        public async Task<long> CheckpointedBytesAsync()
        {
            await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            await connection.OpenAsync();
            for (var attempt = 0; ; attempt++)
            {
                await using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
                await using var reader = await command.ExecuteReaderAsync();
                await reader.ReadAsync();
                if (reader.GetInt64(0) == 0 || attempt == 50)
                {
                    break;
                }

                await Task.Delay(10);
            }

            return new FileInfo(path).Length + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0);
        }

        public async ValueTask DisposeAsync()
        {
            await runtime.DisposeAsync();
            await store.DisposeAsync();
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}
