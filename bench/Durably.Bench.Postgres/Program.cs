// Durable appends per second on the PostgreSQL store, next to a baseline measured on the same server in the same
// run: single-row INSERT-and-COMMIT round-trips from one connection (each one a commit the server syncs).
//
//   scripts/with-postgres.sh dotnet run -c Release --project bench/Durably.Bench.Postgres [-- --seconds 5 --rounds 3 --runs 1,256 --workers 1,3]
//
// Each durable scenario starts R runs spread over W store instances (W workers: separate stores with their own
// connections and writers, in this one process), has each worker lease its runs, and then lets every run append
// one step entry at a time, awaiting each append (durable: COMMIT acknowledged) before the next, fenced by its
// lease epoch. Prints one JSON object per line.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Durably;
using Durably.Journal;
using Durably.Postgres;
using Durably.Storage;
using Npgsql;

var connectionString = Environment.GetEnvironmentVariable("DURABLY_POSTGRES");
if (string.IsNullOrEmpty(connectionString))
{
    Console.Error.WriteLine("DURABLY_POSTGRES is not set. Run: scripts/with-postgres.sh dotnet run -c Release --project bench/Durably.Bench.Postgres");
    return 2;
}

var seconds = double.Parse(Argument("--seconds", "5"), CultureInfo.InvariantCulture);
var runCounts = Argument("--runs", "1,256").Split(',').Select(int.Parse).ToArray();
var workerCounts = Argument("--workers", "1,3").Split(',').Select(int.Parse).ToArray();
var rounds = int.Parse(Argument("--rounds", "3"), CultureInfo.InvariantCulture);
var measure = TimeSpan.FromSeconds(seconds);
var warmup = TimeSpan.FromSeconds(1);
var json = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
void Print(object line) => Console.WriteLine(JsonSerializer.Serialize(line, json));

await using (var connection = new NpgsqlConnection(connectionString))
{
    await connection.OpenAsync();
    await using var settings = new NpgsqlCommand("SELECT current_setting('server_version'), current_setting('fsync'), current_setting('synchronous_commit'), current_setting('wal_sync_method')", connection);
    await using var reader = await settings.ExecuteReaderAsync();
    await reader.ReadAsync();
    Print(new { kind = "environment", server = reader.GetString(0), fsync = reader.GetString(1), synchronousCommit = reader.GetString(2), walSyncMethod = reader.GetString(3), processors = Environment.ProcessorCount, seconds, rounds, workersNote = "W workers are W store instances in this one process, each with its own connections and group-commit writer" });
}

// Other work on the machine changes every rate, so the baseline is measured again in every round, next to the
// scenarios it is compared with, and the summary gives medians of the per-round ratios.
var concurrent = await BaselineAsync(connectionString, 256, warmup, measure);
Print(new { kind = "baseline-insert-commit", connections = 256, appends = concurrent.Count, appendsPerSecond = Math.Round(concurrent.Rate), p50Ms = concurrent.P50, p99Ms = concurrent.P99, note = "context only: 256 connections each committing its own row" });
var ratios = new Dictionary<(int Runs, int Workers), List<(double Rate, double Ratio)>>();
var baselines = new List<double>();
for (var round = 1; round <= rounds; round++)
{
    var baseline = await BaselineAsync(connectionString, 1, warmup, measure);
    baselines.Add(baseline.Rate);
    Print(new { kind = "baseline-insert-commit", round, connections = 1, appends = baseline.Count, appendsPerSecond = Math.Round(baseline.Rate), p50Ms = baseline.P50, p99Ms = baseline.P99 });
    foreach (var runs in runCounts)
    {
        foreach (var workers in workerCounts)
        {
            var result = await DurableAsync(connectionString, runs, workers, warmup, measure);
            var ratio = result.Rate / baseline.Rate;
            (ratios.TryGetValue((runs, workers), out var list) ? list : ratios[(runs, workers)] = []).Add((result.Rate, ratio));
            Print(new { kind = "durable-append", round, runs, workers, appends = result.Count, appendsPerSecond = Math.Round(result.Rate), p50Ms = result.P50, p99Ms = result.P99, vsBaseline = Math.Round(ratio, 1) });
        }
    }
}

foreach (var ((runs, workers), list) in ratios)
{
    Print(new { kind = "summary", runs, workers, rounds, medianAppendsPerSecond = Math.Round(Median(list.Select(x => x.Rate))), medianBaselinePerSecond = Math.Round(Median(baselines)), medianVsBaseline = Math.Round(Median(list.Select(x => x.Ratio)), 1) });
}

return 0;

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

string Argument(string name, string fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
}

static async Task<Result> BaselineAsync(string connectionString, int connections, TimeSpan warmup, TimeSpan measure)
{
    var schema = "bench_baseline_" + Guid.NewGuid().ToString("N")[..8];
    await using var dataSource = new NpgsqlDataSourceBuilder(connectionString) { ConnectionStringBuilder = { MaxPoolSize = connections + 4 } }.Build();
    await using (var create = dataSource.CreateCommand($"CREATE SCHEMA {schema}; CREATE TABLE {schema}.entries(run text NOT NULL, seq bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY (run, seq))"))
    {
        await create.ExecuteNonQueryAsync();
    }

    var data = JournalSerializer.Serialize(Entry(1));
    var result = await MeasureAsync(connections, warmup, measure, async (worker, record, stop) =>
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var insert = new NpgsqlCommand($"INSERT INTO {schema}.entries(run, seq, data) VALUES ($1, $2, $3)", connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = $"run-{worker}" });
        insert.Parameters.Add(new NpgsqlParameter { Value = 0L });
        insert.Parameters.Add(new NpgsqlParameter { Value = data });
        await insert.PrepareAsync();
        for (long seq = 0; !stop.IsCancellationRequested; seq++)
        {
            var started = Stopwatch.GetTimestamp();
            insert.Parameters[1].Value = seq;
            await insert.ExecuteNonQueryAsync(); // autocommit: the INSERT and its COMMIT in one round-trip
            record(Stopwatch.GetElapsedTime(started));
        }
    });

    await using (var drop = dataSource.CreateCommand($"DROP SCHEMA {schema} CASCADE"))
    {
        await drop.ExecuteNonQueryAsync();
    }

    return result;
}

static async Task<Result> DurableAsync(string connectionString, int runs, int workers, TimeSpan warmup, TimeSpan measure)
{
    var schema = "bench_" + Guid.NewGuid().ToString("N")[..8];
    var stores = new List<PostgresJournalStore>();
    for (var w = 0; w < workers; w++)
    {
        stores.Add(await PostgresJournalStore.OpenAsync(new PostgresJournalStoreOptions { ConnectionString = connectionString, Schema = schema, SchemaMode = w == 0 ? PostgresSchemaMode.CreateOrUpdate : PostgresSchemaMode.Validate }));
    }

    try
    {
        var leases = new RunLease[runs];
        await Parallel.ForAsync(0, runs, async (r, _) =>
        {
            var store = stores[r % workers];
            var id = new RunId($"bench-{r}");
            await store.AppendAsync(new RunAppend(id, 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UtcNow, Workflow = "bench", Input = Payload.FromJson("{}") }]) { Status = RunStatus.Running });
            leases[r] = (await store.TryClaimRunAsync(id, $"worker-{r % workers}", TimeSpan.FromMinutes(10)))!;
        });

        return await MeasureAsync(runs, warmup, measure, async (r, record, stop) =>
        {
            var store = stores[r % workers];
            var lease = leases[r];
            for (long seq = 1; !stop.IsCancellationRequested; seq++)
            {
                var started = Stopwatch.GetTimestamp();
                await store.AppendAsync(new RunAppend(lease.RunId, seq, [Entry(seq)]) { LeaseEpoch = lease.Epoch });
                record(Stopwatch.GetElapsedTime(started));
            }
        });
    }
    finally
    {
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA {schema} CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }
}

// Runs `loops` concurrent loops; counts and times the operations that complete inside the measured window.
static async Task<Result> MeasureAsync(int loops, TimeSpan warmup, TimeSpan measure, Func<int, Action<TimeSpan>, CancellationToken, Task> loop)
{
    using var stop = new CancellationTokenSource();
    var latencies = new List<double>[loops];
    long windowStart = 0;
    long windowEnd = long.MaxValue;
    var tasks = Enumerable.Range(0, loops).Select(i => Task.Run(async () =>
    {
        var mine = latencies[i] = new List<double>(4096);
        await loop(i, elapsed =>
        {
            var now = Stopwatch.GetTimestamp();
            if (now >= Volatile.Read(ref windowStart) && now <= Volatile.Read(ref windowEnd) && Volatile.Read(ref windowStart) != 0)
            {
                mine.Add(elapsed.TotalMilliseconds);
            }
        }, stop.Token);
    })).ToArray();

    await Task.Delay(warmup);
    Volatile.Write(ref windowStart, Stopwatch.GetTimestamp());
    await Task.Delay(measure);
    var end = Stopwatch.GetTimestamp();
    Volatile.Write(ref windowEnd, end);
    var measured = Stopwatch.GetElapsedTime(windowStart, end);
    await stop.CancelAsync();
    await Task.WhenAll(tasks);

    var all = latencies.SelectMany(l => l).Order().ToArray();
    double Percentile(double p) => all.Length == 0 ? 0 : Math.Round(all[Math.Min(all.Length - 1, (int)(p * all.Length))], 2);
    return new Result(all.Length, all.Length / measured.TotalSeconds, Percentile(0.5), Percentile(0.99));
}

static StepCompleted Entry(long seq) => new()
{
    Sequence = seq,
    Timestamp = DateTimeOffset.UtcNow,
    Step = (int)seq,
    Result = Payload.FromJson("{\"tool\":\"search\",\"hits\":3,\"summary\":\"three documents matched the query about write-ahead logs\"}"),
    DurationMs = 12.5,
};

internal sealed record Result(int Count, double Rate, double P50, double P99);
