using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Durably;
using Durably.Bench;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Win32.SafeHandles;

// Prints one JSON object per line; bench/README.md documents every field.
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Durably.Bench [--seconds N] [--dir PATH] [--concurrency 1,16,256] [--durability full|normal] [--only raw,latency,throughput]");
    return 2;
}

var dir = Path.GetFullPath(Path.Combine(options.Dir, "durably-bench-" + Guid.NewGuid().ToString("N")[..8]));
Directory.CreateDirectory(dir);
try
{
    var entryBytes = JournalSerializer.Serialize(Workload.Entry(1)).Length;
    Emit(new
    {
        kind = "env",
        os = RuntimeInformation.OSDescription,
        runtime = RuntimeInformation.FrameworkDescription,
        cpus = Environment.ProcessorCount,
        dir,
        seconds = options.Seconds,
        durability = options.Durability.ToString().ToLowerInvariant(),
        entry_bytes = entryBytes,
        release = !IsDebugBuild(),
    });

    // The floor: the same bytes written to a plain file in the same folder and synced, appending (the file
    // grows, as a hand-written log does) or overwriting in place (the cheapest durable write there is).
    var raw = new Dictionary<string, double>();
    if (options.Runs("raw"))
    {
        foreach (var call in RawSync.Calls)
        {
            foreach (var mode in new[] { "append", "overwrite" })
            {
                var result = RawSync.Measure(Path.Combine(dir, $"raw-{mode}-{call}.bin"), JournalSerializer.Serialize(Workload.Entry(1)), mode == "append", call, options.Seconds);
                raw[$"{mode}-{call}"] = result.P50;
                Emit(new { kind = "raw_sync", mode, sync_call = call, bytes = entryBytes, ops = result.Count, p50_us = result.P50, p99_us = result.P99, mean_us = result.Mean, ops_per_s = result.OpsPerSecond });
            }
        }
    }

    if (options.Runs("latency"))
    {
        var latencyPath = Path.Combine(dir, "latency.db");
        var result = await Workload.RunAsync(latencyPath, options.Durability, runs: 1, options.Seconds);
        Emit(new
        {
            kind = "append_latency",
            runs = 1,
            durability = options.Durability.ToString().ToLowerInvariant(),
            ops = result.Count,
            p50_us = result.P50,
            p99_us = result.P99,
            mean_us = result.Mean,
            ops_per_s = result.OpsPerSecond,
            ratio_to_raw_p50 = Ratio(result.P50, raw, $"append-{RawSync.Calls[0]}"),
            ratio_to_raw_overwrite_p50 = Ratio(result.P50, raw, $"overwrite-{RawSync.Calls[0]}"),
        });

        // Reading back the journal just written: what a replay after a crash pays before it starts.
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = latencyPath, CreateIfMissing = false });
        var reads = new List<long>();
        var entries = 0;
        for (var i = 0; i < 5; i++)
        {
            var before = Stopwatch.GetTimestamp();
            entries = (await store.ReadAsync(new RunId("bench-0"))).Count;
            reads.Add(Stopwatch.GetTimestamp() - before);
        }

        var read = new Samples(reads, TimeSpan.Zero);
        Emit(new { kind = "read_journal", entries, p50_ms = Math.Round(read.P50 / 1000, 2), entries_per_s = Math.Round(entries / (read.P50 / 1e6), 0) });
    }

    if (options.Runs("throughput"))
    {
        foreach (var runs in options.Concurrency)
        {
            var result = await Workload.RunAsync(Path.Combine(dir, $"throughput-{runs}.db"), options.Durability, runs, options.Seconds);
            Emit(new
            {
                kind = "append_throughput",
                runs,
                durability = options.Durability.ToString().ToLowerInvariant(),
                ops = result.Count,
                seconds = Math.Round(result.Elapsed.TotalSeconds, 3),
                appends_per_s = result.OpsPerSecond,
                p50_us = result.P50,
                p99_us = result.P99,
            });
        }
    }
}
finally
{
    Directory.Delete(dir, recursive: true);
}

return 0;

static void Emit<T>(T value)
{
    Console.WriteLine(JsonSerializer.Serialize(value));
    Console.Out.Flush();
}

static double? Ratio(double value, Dictionary<string, double> raw, string key)
    => raw.TryGetValue(key, out var floor) && floor > 0 ? Math.Round(value / floor, 3) : null;

static bool IsDebugBuild()
    => typeof(Workload).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false) is [DebuggableAttribute { IsJITOptimizerDisabled: true }];

namespace Durably.Bench
{
    internal sealed record BenchOptions(double Seconds, string Dir, int[] Concurrency, SqliteDurability Durability, string[] Only)
    {
        public bool Runs(string part) => Only.Length == 0 || Only.Contains(part, StringComparer.Ordinal);

        public static BenchOptions? Parse(string[] args)
        {
            var options = new BenchOptions(5, Path.GetTempPath(), [1, 16, 256], SqliteDurability.Full, []);
            for (var i = 0; i < args.Length; i++)
            {
                var value = i + 1 < args.Length ? args[i + 1] : null;
                if (value is null)
                {
                    return null;
                }

                options = args[i] switch
                {
                    "--seconds" => options with { Seconds = double.Parse(value, CultureInfo.InvariantCulture) },
                    "--dir" => options with { Dir = value },
                    "--concurrency" => options with { Concurrency = value.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray() },
                    "--durability" => options with { Durability = Enum.Parse<SqliteDurability>(value, ignoreCase: true) },
                    "--only" => options with { Only = value.Split(',') },
                    _ => null,
                };
                if (options is null)
                {
                    return null;
                }

                i++;
            }

            return options;
        }
    }

    // Latencies in Stopwatch ticks, summarized in microseconds.
    internal sealed class Samples
    {
        private readonly List<long> _ticks;

        public Samples(List<long> ticks, TimeSpan elapsed)
        {
            _ticks = ticks;
            _ticks.Sort();
            Elapsed = elapsed;
        }

        public TimeSpan Elapsed { get; }

        public int Count => _ticks.Count;

        public double P50 => Percentile(0.50);

        public double P99 => Percentile(0.99);

        public double Mean => Count == 0 ? 0 : Math.Round(_ticks.Average() * 1e6 / Stopwatch.Frequency, 1);

        public double OpsPerSecond => Math.Round(Count / Elapsed.TotalSeconds, 0);

        private double Percentile(double p) => Count == 0 ? 0 : Math.Round(_ticks[Math.Min(Count - 1, (int)(p * Count))] * 1e6 / Stopwatch.Frequency, 1);
    }

    // Writes the same bytes again and again to a plain file and syncs after each write.
    internal static partial class RawSync
    {
        // fdatasync is what a careful log uses; SQLite's bundled build syncs with fsync, which also records the modification time.
        public static string[] Calls { get; } = OperatingSystem.IsLinux() ? ["fdatasync", "fsync"] : ["fsync"];

        public static Samples Measure(string path, byte[] bytes, bool append, string call, double seconds)
        {
            using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
            if (!append)
            {
                // Overwrite in place: the file's size never changes, so the sync has no size to record.
                RandomAccess.Write(handle, bytes, 0);
                Sync(handle, call);
            }

            long offset = 0;
            var ticks = new List<long>(100_000);
            var warmupUntil = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 2);
            while (Stopwatch.GetTimestamp() < warmupUntil)
            {
                RandomAccess.Write(handle, bytes, append ? offset : 0);
                offset += bytes.Length;
                Sync(handle, call);
            }

            var start = Stopwatch.GetTimestamp();
            var end = start + (long)(seconds * Stopwatch.Frequency);
            var now = start;
            while (now < end)
            {
                RandomAccess.Write(handle, bytes, append ? offset : 0);
                offset += bytes.Length;
                Sync(handle, call);
                var done = Stopwatch.GetTimestamp();
                ticks.Add(done - now);
                now = done;
            }

            return new Samples(ticks, Stopwatch.GetElapsedTime(start, now));
        }

        private static void Sync(SafeFileHandle handle, string call)
        {
            if (call == "fsync")
            {
                // On Unix this is fsync(2).
                RandomAccess.FlushToDisk(handle);
            }
            else if (FdataSync(handle) != 0)
            {
                throw new IOException($"fdatasync failed with errno {Marshal.GetLastPInvokeError()}");
            }
        }

        [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
        private static partial int FdataSync(SafeFileHandle fd);
    }

    // Runs that each append StepCompleted entries with a small JSON result, one after another, as an agent's steps do.
    internal static class Workload
    {
        private static readonly Payload Result = Payload.FromJson("""{"city":"Paris","temperature_c":21.5,"conditions":"partly cloudy","source":"weather-api"}""");

        public static JournalEntry Entry(long seq) => seq == 0
            ? new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UtcNow, Workflow = "bench" }
            : new StepCompleted { Sequence = seq, Timestamp = DateTimeOffset.UtcNow, Step = (int)seq, Result = Result, DurationMs = 12.5 };

        public static async Task<Samples> RunAsync(string path, SqliteDurability durability, int runs, double seconds)
        {
            await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, Durability = durability });
            var warmupSeconds = Math.Min(1, seconds / 5);
            var next = new long[runs];
            await DriveAsync(store, runs, next, warmupSeconds, record: null);
            var perRun = Enumerable.Range(0, runs).Select(_ => new List<long>(4096)).ToArray();
            var start = Stopwatch.GetTimestamp();
            await DriveAsync(store, runs, next, seconds, perRun);
            var elapsed = Stopwatch.GetElapsedTime(start);
            return new Samples(perRun.SelectMany(t => t).ToList(), elapsed);
        }

        private static Task DriveAsync(IJournalStore store, int runs, long[] next, double seconds, List<long>[]? record)
        {
            var end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
            return Task.WhenAll(Enumerable.Range(0, runs).Select(r => Task.Run(async () =>
            {
                var runId = new RunId($"bench-{r}");
                var ticks = record?[r];
                while (true)
                {
                    var before = Stopwatch.GetTimestamp();
                    if (before >= end)
                    {
                        return;
                    }

                    var seq = next[r]++;
                    await store.AppendAsync(new RunAppend(runId, seq, [Entry(seq)])).ConfigureAwait(false);
                    ticks?.Add(Stopwatch.GetTimestamp() - before);
                }
            })));
        }
    }
}
