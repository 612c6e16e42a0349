using System.Globalization;
using Durably.Sqlite;

namespace Durably.Bench.Workflows;

// Command-line options; see bench/README.md for their meaning and defaults.
internal sealed record BenchOptions
{
    public int Workflows { get; init; } = 200;
    public int Steps { get; init; } = 10;
    public int Concurrency { get; init; } = 16;
    public int Rounds { get; init; } = 3;
    public double Seconds { get; init; } = 5;
    public double WarmupSeconds { get; init; } = 3;
    public double RawSeconds { get; init; } = 1;
    public SqliteDurability Durability { get; init; } = SqliteDurability.Full;
    public bool Effect { get; init; }
    public int ReplaySteps { get; init; } = 10_000;
    public bool RunWorkload { get; init; } = true;
    public bool RunReplay { get; init; } = true;
    public string Dir { get; init; } = Path.GetTempPath();
    public bool AllocationProfile { get; init; }

    // A round lasts at least this long, so that all rounds together last at least Seconds.
    public double RoundSeconds => Seconds / Rounds;

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            int Int() => int.Parse(Value(), CultureInfo.InvariantCulture) is var v && v > 0 ? v : throw new ArgumentException($"{name} must be positive.");
            double Double() => double.Parse(Value(), CultureInfo.InvariantCulture) is var v && v >= 0 ? v : throw new ArgumentException($"{name} must not be negative.");
            options = name switch
            {
                "--workflows" or "-W" => options with { Workflows = Int() },
                "--steps" or "-N" => options with { Steps = Int() },
                "--concurrency" or "-C" => options with { Concurrency = Int() },
                "--rounds" => options with { Rounds = Int() },
                "--seconds" => options with { Seconds = Double() },
                "--warmup-seconds" => options with { WarmupSeconds = Double() },
                "--raw-seconds" => options with { RawSeconds = Double() },
                "--durability" => options with
                {
                    Durability = Value() switch
                    {
                        "full" => SqliteDurability.Full,
                        "normal" => SqliteDurability.Normal,
                        var other => throw new ArgumentException($"--durability must be full or normal, not '{other}'."),
                    },
                },
                "--kind" => options with
                {
                    Effect = Value() switch
                    {
                        "compute" => false,
                        "effect" => true,
                        var other => throw new ArgumentException($"--kind must be compute or effect, not '{other}'."),
                    },
                },
                "--replay-steps" => options with { ReplaySteps = Int() },
                "--only" => Value() switch
                {
                    "workload" => options with { RunWorkload = true, RunReplay = false },
                    "replay" => options with { RunWorkload = false, RunReplay = true },
                    var other => throw new ArgumentException($"--only must be workload or replay, not '{other}'."),
                },
                "--dir" => options with { Dir = Value() },
                "--alloc-profile" => options with { AllocationProfile = true },
                _ => throw new ArgumentException($"Unknown option '{name}'. See bench/README.md for the options."),
            };
        }

        return options;
    }
}
