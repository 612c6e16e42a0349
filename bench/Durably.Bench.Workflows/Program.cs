using System.Diagnostics;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Durably.Bench.Workflows;

// Workflow workload: W workflows of N trivial durable steps, at most C at a time, on a fresh SQLite journal per round.
// Prints JSON lines: the environment, one line per round (each with its own raw fdatasync baseline, measured in the
// same folder just before it), a summary with the median and the spread across rounds, then replay. See bench/README.md.
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"Durably.Bench.Workflows: {ex.Message} Options: -W/--workflows N, -N/--steps N, -C/--concurrency N, --rounds N, --seconds S, --warmup-seconds S, --raw-seconds S, --durability full|normal, --kind compute|effect, --replay-steps N, --only workload|replay, --dir PATH, --alloc-profile (bench/README.md explains them).");
    return 2;
}

var dir = Path.Combine(options.Dir, "durably-bench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(dir);

try
{
    Emit(new JsonObject
    {
        ["kind"] = "env",
        ["date"] = DateTimeOffset.UtcNow.ToString("u"),
        ["os"] = RuntimeInformation.OSDescription,
        ["runtime"] = RuntimeInformation.FrameworkDescription,
        ["cpus"] = Environment.ProcessorCount,
        ["release"] = !IsDebugBuild(),
        ["server_gc"] = GCSettings.IsServerGC,
        ["tiered_compilation"] = AppContext.TryGetSwitch("System.Runtime.TieredCompilation", out var tiered) ? tiered : true,
        ["tiered_pgo"] = AppContext.TryGetSwitch("System.Runtime.TieredPGO", out var pgo) ? pgo : true,
        ["dir"] = dir,
        ["workflows"] = options.Workflows,
        ["steps_per_workflow"] = options.Steps,
        ["concurrency"] = options.Concurrency,
        ["rounds"] = options.Rounds,
        ["seconds"] = options.Seconds,
        ["warmup_seconds"] = options.WarmupSeconds,
        ["durability"] = options.Durability.ToString().ToLowerInvariant(),
        ["kind_of_step"] = options.Effect ? "effect" : "compute",
        ["loadavg"] = Machine.LoadAverage(),
    });

    if (options.RunWorkload)
    {
        using var profile = options.AllocationProfile ? new AllocationProfile() : null;
        var bench = new WorkflowBench(options, profile);
        var journalBytesPerStep = await bench.WarmUpAsync(Path.Combine(dir, "warmup"));
        var rawBytes = (int)Math.Ceiling(journalBytesPerStep);
        var rounds = new List<WorkflowBench.RoundResult>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            var result = await bench.RunRoundAsync(round, Path.Combine(dir, $"round-{round}"), rawBytes);
            result.Line["raw_bytes"] = rawBytes;
            Emit(result.Line);
            rounds.Add(result);
        }

        var summary = new JsonObject
        {
            ["kind"] = "workflows",
            ["system"] = "durably",
            ["store"] = "sqlite-" + options.Durability.ToString().ToLowerInvariant(),
            ["kind_of_step"] = options.Effect ? "effect" : "compute",
            ["workflows"] = options.Workflows,
            ["steps_per_workflow"] = options.Steps,
            ["concurrency"] = options.Concurrency,
            ["rounds"] = rounds.Count,
            ["measured_s"] = Stats.Round(rounds.Sum(r => (double)r.Line["wall_s"]!)),
            ["steps"] = rounds.Sum(r => (double)r.Line["steps"]!),
        };
        Stats.AddSpread(summary, "steps_per_s", [.. rounds.Select(r => r.StepsPerSecond)]);
        Stats.AddSpread(summary, "p50_step_ms", [.. rounds.Select(r => r.P50Ms)]);
        Stats.AddSpread(summary, "p99_step_ms", [.. rounds.Select(r => r.P99Ms)]);
        Stats.AddSpread(summary, "cpu_us_per_step", [.. rounds.Select(r => r.CpuUsPerStep)]);
        Stats.AddSpread(summary, "alloc_bytes_per_step", [.. rounds.Select(r => r.AllocatedBytesPerStep)]);
        Stats.AddSpread(summary, "bytes_per_step", [.. rounds.Select(r => r.BytesPerStep)]);
        summary["raw_bytes"] = rawBytes;
        Stats.AddSpread(summary, "raw_p50_ms", [.. rounds.Select(r => r.Raw.P50Ms)]);
        Stats.AddSpread(summary, "raw_p99_ms", [.. rounds.Select(r => r.Raw.P99Ms)]);
        Stats.AddSpread(summary, "raw_ops_per_s", [.. rounds.Select(r => r.Raw.OpsPerSecond)]);
        Stats.AddSpread(summary, "ratio_p50_to_raw_p50", [.. rounds.Select(r => r.P50Ms / r.Raw.P50Ms)]);
        summary["loadavg"] = Machine.LoadAverage();
        Emit(summary);
        if (profile is not null)
        {
            Emit(profile.Report(rounds.Sum(r => (double)r.AllocatedBytes), rounds.Sum(r => r.Steps)));
        }
    }

    if (options.RunReplay)
    {
        foreach (var line in await ReplayBench.RunAsync(options, Path.Combine(dir, "replay")))
        {
            Emit(line);
        }
    }
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(dir, recursive: true);
}

return 0;

static void Emit(JsonObject line) => Console.WriteLine(line.ToJsonString());

static bool IsDebugBuild() =>
    typeof(Durably.DurableRuntime).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false)
        .OfType<DebuggableAttribute>().Any(a => a.IsJITOptimizerDisabled);
