using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Durably;
using Durably.Bench.Soak;
using Durably.Hosting;
using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Soak: a real host (generic host, AddDurably().UseSqlite with payload blobs on) runs agent-like workflows at a fixed
// rate for a long time, first for a short baseline with retention off (unbounded growth), then with retention on (a short
// keep time, checked often). Prints one JSON line per report interval and a summary per phase. See bench/README.md.
SoakOptions options;
try
{
    options = SoakOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"Durably.Bench.Soak: {ex.Message} Options: --minutes M, --baseline-minutes M, --rate RUNS_PER_S, --steps N, --keep S, --check-every S, --report-every S, --dir PATH (bench/README.md explains them).");
    return 2;
}

var root = Path.Combine(options.Dir, "durably-soak-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);
Emit(new JsonObject
{
    ["kind"] = "env",
    ["date"] = DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture),
    ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
    ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
    ["cpus"] = Environment.ProcessorCount,
    ["dir"] = root,
    ["minutes"] = options.Minutes,
    ["baseline_minutes"] = options.BaselineMinutes,
    ["rate_runs_per_s"] = options.Rate,
    ["steps_per_run"] = options.Steps,
    ["keep_s"] = options.Keep.TotalSeconds,
    ["check_every_s"] = options.CheckEvery.TotalSeconds,
    ["inline_limit_bytes"] = SoakWorkload.InlineLimit,
    ["large_payload_bytes"] = SoakWorkload.LargeBytes,
});

var summaries = new List<JsonObject>();
try
{
    if (options.BaselineMinutes > 0)
    {
        summaries.Add(await RunPhaseAsync("baseline", Path.Combine(root, "baseline"), TimeSpan.FromMinutes(options.BaselineMinutes), retention: false));
    }

    summaries.Add(await RunPhaseAsync("retention", Path.Combine(root, "retention"), TimeSpan.FromMinutes(options.Minutes), retention: true));
}
finally
{
    try
    {
        Directory.Delete(root, recursive: true);
    }
    catch (IOException)
    {
    }
}

var baseline = summaries.FirstOrDefault(s => (string?)s["phase"] == "baseline");
var retained = summaries.Last();
var final = new JsonObject
{
    ["kind"] = "soak",
    ["retention_bounded"] = (bool)retained["bounded"]!,
    ["retention_growth_bytes_per_min_last_third"] = retained["growth_bytes_per_min_last_third"]!.DeepClone(),
    ["retention_max_total_bytes"] = retained["max_total_bytes"]!.DeepClone(),
    ["baseline_growth_bytes_per_min"] = baseline?["growth_bytes_per_min"]?.DeepClone(),
    ["baseline_max_total_bytes"] = baseline?["max_total_bytes"]?.DeepClone(),
};
Emit(final);
return 0;

async Task<JsonObject> RunPhaseAsync(string phase, string folder, TimeSpan duration, bool retention)
{
    Directory.CreateDirectory(folder);
    var path = Path.Combine(folder, "soak.db");
    var builder = Host.CreateApplicationBuilder([]);
    builder.Logging.ClearProviders();
    // Warnings and errors go to stderr, so stdout stays JSON lines.
    builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
    var durably = builder.Services.AddDurably(o => new DurableRuntimeOptions { MaxConcurrentRuns = 256 })
        .UseSqlite(path, o => new SqliteJournalStoreOptions { Path = o.Path, PayloadBlobs = new PayloadBlobOptions { InlineLimit = SoakWorkload.InlineLimit, CollectionGracePeriod = options.Keep } })
        .AddWorkflow<int, string>(SoakWorkload.Name, (ctx, n) => SoakWorkload.RunAsync(ctx, n, options.Steps));
    if (retention)
    {
        durably.AddRetention(new RetentionPolicy { KeepCompleted = options.Keep, KeepFailed = options.Keep, KeepCancelled = options.Keep, Interval = options.CheckEvery });
    }

    using var host = builder.Build();
    await host.StartAsync();
    var client = host.Services.GetRequiredService<DurableClient>();
    var store = (SqliteJournalStore)host.Services.GetRequiredService<IJournalStore>();
    var retentionService = retention ? host.Services.GetRequiredService<DurablyRetentionService>() : null;
    var blobs = (FileSystemPayloadBlobStore)store.BlobStore;

    var samples = new List<(double Minutes, long Total)>();
    long started = 0, startFailures = 0;
    var clock = Stopwatch.StartNew();
    using var stop = new CancellationTokenSource();

    // A fixed rate: one tick per run, started without waiting for it (the runtime executes it).
    var starter = Task.Run(async () =>
    {
        var interval = TimeSpan.FromSeconds(1.0 / options.Rate);
        using var timer = new PeriodicTimer(interval);
        var due = 0L;
        while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
        {
            var target = (long)(clock.Elapsed.TotalSeconds * options.Rate);
            for (; due < target; due++)
            {
                try
                {
                    await client.StartAsync(SoakWorkload.Name, (int)(due % 1_000_000), new() { RunId = new RunId($"{phase}-{due}") }, stop.Token).ConfigureAwait(false);
                    Interlocked.Increment(ref started);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Interlocked.Increment(ref startFailures);
                }
            }
        }
    });

    var lastCompleted = 0L;
    var lastAt = TimeSpan.Zero;
    while (clock.Elapsed < duration)
    {
        var wait = options.ReportEvery - TimeSpan.FromTicks(clock.Elapsed.Ticks % options.ReportEvery.Ticks);
        await Task.Delay(wait < duration - clock.Elapsed ? wait : duration - clock.Elapsed);
        var (runs, unfinished, completed) = Count(path);
        var file = Length(path);
        var wal = Length(path + "-wal");
        var blobBytes = blobs.SizeInBytes();
        var elapsed = clock.Elapsed;
        var total = file + wal + blobBytes;
        samples.Add((elapsed.TotalMinutes, total));
        var purged = retentionService?.RunsPurged ?? 0;
        var completedTotal = completed + purged;
        Emit(new JsonObject
        {
            ["kind"] = "sample",
            ["phase"] = phase,
            ["elapsed_s"] = Math.Round(elapsed.TotalSeconds),
            ["file_bytes"] = file,
            ["wal_bytes"] = wal,
            ["blob_bytes"] = blobBytes,
            ["total_bytes"] = total,
            ["live_runs"] = runs,
            ["unfinished_runs"] = unfinished,
            ["started"] = Interlocked.Read(ref started),
            ["start_failures"] = Interlocked.Read(ref startFailures),
            ["purged"] = purged,
            ["runs_per_s"] = Math.Round((completedTotal - lastCompleted) / (elapsed - lastAt).TotalSeconds, 1),
            ["rss_bytes"] = Process.GetCurrentProcess().WorkingSet64,
            ["retention_passes"] = retentionService?.Passes,
        });
        (lastCompleted, lastAt) = (completedTotal, elapsed);
    }

    await stop.CancelAsync();
    try
    {
        await starter;
    }
    catch (OperationCanceledException)
    {
    }

    await host.StopAsync();
    var third = duration.TotalMinutes / 3;
    var first = samples.Where(s => s.Minutes <= third).Select(s => s.Total).DefaultIfEmpty(0).Max();
    var lastThird = samples.Where(s => s.Minutes >= 2 * third).ToList();
    var last = lastThird.Select(s => s.Total).DefaultIfEmpty(0).Max();
    var summary = new JsonObject
    {
        ["kind"] = "summary",
        ["phase"] = phase,
        ["minutes"] = Math.Round(clock.Elapsed.TotalMinutes, 1),
        ["started"] = Interlocked.Read(ref started),
        ["start_failures"] = Interlocked.Read(ref startFailures),
        ["purged"] = retentionService?.RunsPurged ?? 0,
        ["max_total_bytes_first_third"] = first,
        ["max_total_bytes_last_third"] = last,
        ["max_total_bytes"] = samples.Select(s => s.Total).DefaultIfEmpty(0).Max(),
        ["growth_bytes_per_min"] = Slope(samples),
        ["growth_bytes_per_min_last_third"] = Slope(lastThird),
        // Bounded: the largest size in the last third is no more than 25% above the largest in the first third.
        ["bounded"] = last <= first * 1.25,
    };
    Emit(summary);
    return summary;
}

static long Length(string path) => new FileInfo(path) is { Exists: true } f ? f.Length : 0;

static (long Runs, long Unfinished, long Completed) Count(string path)
{
    using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
    connection.Open();
    using var command = connection.CreateCommand();
    command.CommandText = "SELECT count(*), coalesce(sum(status < 3), 0), coalesce(sum(status >= 3), 0) FROM runs";
    using var reader = command.ExecuteReader();
    reader.Read();
    return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
}

// Least-squares growth of the total size, in bytes per minute.
static double Slope(List<(double Minutes, long Total)> samples)
{
    if (samples.Count < 2)
    {
        return 0;
    }

    var mx = samples.Average(s => s.Minutes);
    var my = samples.Average(s => (double)s.Total);
    var num = samples.Sum(s => (s.Minutes - mx) * (s.Total - my));
    var den = samples.Sum(s => (s.Minutes - mx) * (s.Minutes - mx));
    return den == 0 ? 0 : Math.Round(num / den);
}

static void Emit(JsonObject line)
{
    Console.WriteLine(line.ToJsonString());
    Console.Out.Flush();
}
