using System.Diagnostics;
using System.Text.Json.Nodes;
using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Bench.Workflows;

// Replay: one run of S trivial steps waits for a signal after its steps. It is executed once, live, and suspends
// (the runtime unloads it). Each round then signals it: the runtime reads the run's journal, folds it and re-executes
// the workflow, every step answered from the journal, until it reaches the wait again. A round's time runs from the
// signal to the moment the workflow passes its last step. The run waits for one signal per round, so one journal
// serves every round, and each round replays the S steps plus the few waits of the rounds before it.
internal static class ReplayBench
{
    public static async Task<IReadOnlyList<JsonObject>> RunAsync(BenchOptions options, string folder)
    {
        Directory.CreateDirectory(folder);
        var lines = new List<JsonObject>();
        try
        {
            await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions
            {
                Path = Path.Combine(folder, "replay.db"),
                Durability = options.Durability,
            });
            await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "bench-replay", DefaultRetry = RetryPolicy.None });
            var passedSteps = 0L;
            var rounds = options.Rounds + 1; // round 0 warms up and is not reported
            runtime.Register<int, int>("long", async (ctx, n) =>
            {
                for (var i = 0; i < n; i++)
                {
                    var value = i;
                    await ctx.StepAsync("step", _ => Task.FromResult(value));
                }

                Volatile.Write(ref passedSteps, Stopwatch.GetTimestamp());
                // One wait more than there are rounds: after every round, the last included, the run is suspended again.
                for (var round = 0; round <= rounds; round++)
                {
                    await ctx.WaitForSignalAsync<int>("go-" + round);
                }

                return n;
            });
            await runtime.StartAsync();
            var handle = await runtime.Client.StartAsync("long", options.ReplaySteps);
            await WaitUntilSuspendedAsync(handle);

            var perRound = new List<(double Ms, double Cpu, double Alloc)>();
            for (var round = 0; round < rounds; round++)
            {
                Volatile.Write(ref passedSteps, 0);
                var start = Snapshot.Take();
                await runtime.Client.SignalAsync(handle.RunId, "go-" + round, round);
                while (Volatile.Read(ref passedSteps) == 0)
                {
                    await Task.Delay(1);
                    if (Stopwatch.GetElapsedTime(start.Timestamp).TotalSeconds > 60)
                    {
                        await WaitUntilSuspendedAsync(handle); // throws if the run ended
                        throw new TimeoutException($"The replay of round {round} did not pass its last step within 60 s.");
                    }
                }

                var passed = Volatile.Read(ref passedSteps);
                var window = start.Until(Snapshot.Take());
                var ms = Stopwatch.GetElapsedTime(start.Timestamp, passed).TotalMilliseconds;
                // CPU and allocations include up to a millisecond of this loop's polling after the workflow passed.
                var cpuUs = window.Cpu.TotalMicroseconds / options.ReplaySteps;
                var alloc = window.AllocatedBytes / (double)options.ReplaySteps;
                await WaitUntilSuspendedAsync(handle);
                if (round == 0)
                {
                    continue;
                }

                perRound.Add((ms, cpuUs, alloc));
                lines.Add(new JsonObject
                {
                    ["kind"] = "replay_round",
                    ["round"] = round,
                    ["steps"] = options.ReplaySteps,
                    ["replay_ms"] = Stats.Round(ms),
                    ["steps_per_s"] = Stats.Round(options.ReplaySteps / (ms / 1000)),
                    ["cpu_us_per_step"] = Stats.Round(cpuUs),
                    ["alloc_bytes_per_step"] = Stats.Round(alloc),
                    ["loadavg"] = Machine.LoadAverage(),
                });
            }

            var summary = new JsonObject
            {
                ["kind"] = "replay",
                ["system"] = "durably",
                ["store"] = "sqlite-" + options.Durability.ToString().ToLowerInvariant(),
                ["steps"] = options.ReplaySteps,
                ["rounds"] = perRound.Count,
            };
            Stats.AddSpread(summary, "replay_ms", [.. perRound.Select(r => r.Ms)]);
            summary["steps_per_s"] = Stats.Round(options.ReplaySteps / (Stats.Median(perRound.Select(r => r.Ms)) / 1000));
            summary["cpu_us_per_step"] = Stats.Round(Stats.Median(perRound.Select(r => r.Cpu)));
            summary["alloc_bytes_per_step"] = Stats.Round(Stats.Median(perRound.Select(r => r.Alloc)));
            summary["loadavg"] = Machine.LoadAverage();
            lines.Add(summary);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }

        return lines;
    }

    private static async Task WaitUntilSuspendedAsync(RunHandle handle)
    {
        // Suspended and its lease released: the runtime has unloaded the run (or is about to), so the next signal
        // starts a new activation that replays, instead of meeting the activation that is still winding down.
        RunRecord run;
        while ((run = await handle.GetStatusAsync()).Status != RunStatus.Suspended || run.LeaseOwner is not null)
        {
            if (run.Status.IsFinished())
            {
                throw new InvalidOperationException($"The replay run ended with status {run.Status} instead of waiting for its signal.");
            }

            await Task.Delay(5);
        }

        await Task.Delay(50);
    }
}
