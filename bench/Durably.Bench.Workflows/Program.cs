using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Durably;
using Durably.Sqlite;

// Workflow workload: W workflows of N trivial durable steps, at most C at a time, on a fresh SQLite journal with
// full durability (synced before every acknowledgement). Prints JSON lines: the raw sync baseline measured in the
// same run on the same disk, then the workload, then replay speed. Other engines can run the same workload.
var workflows = Option("--workflows", 200);
var steps = Option("--steps", 10);
var concurrency = Option("--concurrency", 16);
var replaySteps = Option("--replay-steps", 10_000);
var kind = OptionText("--kind", "compute") switch
{
    "compute" => StepKind.Compute,
    "effect" => StepKind.Effect,
    var other => throw new ArgumentException($"--kind must be compute or effect, not '{other}'."),
};
var dir = OptionText("--dir", Path.Combine(Path.GetTempPath(), "durably-bench-" + Guid.NewGuid().ToString("N")));
Directory.CreateDirectory(dir);

try
{
    Emit(RawSyncBaseline(Path.Combine(dir, "raw.bin")));

    // Warm-up on a separate file so the JIT has compiled the hot paths; not reported.
    (workflows, var measured) = (Math.Min(workflows, 100), workflows);
    await WorkloadAsync(Path.Combine(dir, "warmup.db"));
    workflows = measured;
    Emit(await WorkloadAsync(Path.Combine(dir, "workload.db")));
    if (replaySteps > 0)
    {
        Emit(await ReplayAsync(Path.Combine(dir, "replay.db")));
    }
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(dir, recursive: true);
}

async Task<JsonObject> WorkloadAsync(string path)
{
    await using var store = await SqliteJournalStore.OpenAsync(path);
    var before = FileBytes(path);
    var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "bench", MaxConcurrentRuns = concurrency, DefaultRetry = RetryPolicy.None });
    var latencies = new double[workflows * steps];
    var next = -1;
    var options = kind == StepKind.Effect ? StepOptions.IdempotentEffect : new StepOptions();
    runtime.Register<int, int>("bench", async (ctx, n) =>
    {
        var sum = 0;
        for (var i = 0; i < n; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var value = i;
            sum += await ctx.StepAsync("step", _ => Task.FromResult(value), options);
            latencies[Interlocked.Increment(ref next)] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        return sum;
    });
    await runtime.StartAsync();

    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var wall = Stopwatch.StartNew();
    // Starts are concurrent; the runtime executes at most C runs at a time and queues the rest as pending.
    var handles = await Task.WhenAll(Enumerable.Range(0, workflows).Select(_ => runtime.Client.StartAsync("bench", steps)));
    await Task.WhenAll(handles.Select(h => h.GetResultAsync<int>()));

    wall.Stop();
    var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    await runtime.DisposeAsync();
    await store.DisposeAsync();
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    var total = workflows * steps;
    Array.Sort(latencies);
    return new JsonObject
    {
        ["system"] = "durably",
        ["store"] = "sqlite-full",
        ["kind"] = kind.ToString().ToLowerInvariant(),
        ["workflows"] = workflows,
        ["steps_per_workflow"] = steps,
        ["concurrency"] = concurrency,
        ["wall_s"] = Round(wall.Elapsed.TotalSeconds),
        ["steps_per_s"] = Round(total / wall.Elapsed.TotalSeconds),
        ["p50_step_ms"] = Round(Percentile(latencies, 0.50)),
        ["p99_step_ms"] = Round(Percentile(latencies, 0.99)),
        ["cpu_ms_per_step"] = Round(cpuUsed.TotalMilliseconds / total),
        ["bytes_per_step"] = Round((FileBytes(path) - before) / (double)total),
    };
}

async Task<JsonObject> ReplayAsync(string path)
{
    await using var store = await SqliteJournalStore.OpenAsync(path);
    await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "bench-replay", DefaultRetry = RetryPolicy.None });
    var replayedAt = 0L;
    runtime.Register<int, int>("long", async (ctx, n) =>
    {
        for (var i = 0; i < n; i++)
        {
            var value = i;
            await ctx.StepAsync("step", _ => Task.FromResult(value));
        }

        // Reached live on the first activation, by replay on the second.
        Interlocked.Exchange(ref replayedAt, Stopwatch.GetTimestamp());
        return await ctx.WaitForSignalAsync<int>("go");
    });
    await runtime.StartAsync();
    var handle = await runtime.Client.StartAsync("long", replaySteps);
    while ((await handle.GetStatusAsync()).Status != Durably.Storage.RunStatus.Suspended)
    {
        await Task.Delay(20);
    }

    var started = Stopwatch.GetTimestamp();
    await runtime.Client.SignalAsync(handle.RunId, "go", 1);
    await handle.GetResultAsync<int>();
    var replay = Stopwatch.GetElapsedTime(started, Interlocked.Read(ref replayedAt));
    return new JsonObject
    {
        ["system"] = "durably",
        ["workload"] = "replay",
        ["steps"] = replaySteps,
        ["replay_s"] = Round(replay.TotalSeconds),
        ["steps_replayed_per_s"] = Round(replaySteps / replay.TotalSeconds),
    };
}

// Write-and-fdatasync of a step-sized record to a plain file: the cost of one durable write without any engine.
JsonObject RawSyncBaseline(string path)
{
    var record = new byte[200];
    Random.Shared.NextBytes(record);
    var samples = new double[300];
    using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
    using var stream = new FileStream(handle, FileAccess.Write, bufferSize: 0);
    for (var i = 0; i < samples.Length; i++)
    {
        var started = Stopwatch.GetTimestamp();
        stream.Write(record);
        stream.Flush(flushToDisk: true);
        samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    Array.Sort(samples);
    return new JsonObject
    {
        ["system"] = "raw-fsync",
        ["bytes"] = record.Length,
        ["p50_ms"] = Round(Percentile(samples, 0.50)),
        ["p99_ms"] = Round(Percentile(samples, 0.99)),
        ["ops_per_s"] = Round(1000 / Percentile(samples, 0.50)),
    };
}

static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

static double Round(double value) => Math.Round(value, 4);

static long FileBytes(string path) => (File.Exists(path) ? new FileInfo(path).Length : 0) + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0);

static void Emit(JsonObject line) => Console.WriteLine(line.ToJsonString());

int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

string OptionText(string name, string fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
}
