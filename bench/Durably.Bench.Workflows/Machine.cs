using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Durably.Bench.Workflows;

// What the process and the machine have consumed, read at the start and the end of a measured window.
internal readonly record struct Snapshot(long Timestamp, TimeSpan Cpu, long AllocatedBytes, long ThreadPoolItems, long LockContentions, int Gen0, int Gen1, int Gen2)
{
    public static Snapshot Take()
    {
        // Precise: flushes every thread's allocation context, so bytes allocated but not yet reported are counted.
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        using var process = Process.GetCurrentProcess();
        return new Snapshot(Stopwatch.GetTimestamp(), process.TotalProcessorTime, allocated, ThreadPool.CompletedWorkItemCount,
            Monitor.LockContentionCount, GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
    }

    public Window Until(Snapshot end) => new(
        Stopwatch.GetElapsedTime(Timestamp, end.Timestamp),
        end.Cpu - Cpu,
        end.AllocatedBytes - AllocatedBytes,
        end.ThreadPoolItems - ThreadPoolItems,
        end.LockContentions - LockContentions,
        [end.Gen0 - Gen0, end.Gen1 - Gen1, end.Gen2 - Gen2]);
}

// Thread-pool work items (task continuations that hop to the pool, timers, Task.Run) and contended lock
// acquisitions are counted by the runtime for the whole process.
internal readonly record struct Window(TimeSpan Wall, TimeSpan Cpu, long AllocatedBytes, long ThreadPoolItems, long LockContentions, int[] Collections);

internal static class Machine
{
    // The 1, 5 and 15 minute load averages: on a shared machine, the first thing to read next to any number.
    public static JsonArray LoadAverage()
    {
        try
        {
            var fields = File.ReadAllText("/proc/loadavg").Split(' ');
            return [.. fields.Take(3).Select(f => (JsonNode)double.Parse(f, CultureInfo.InvariantCulture))];
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}

internal static class Stats
{
    public static double Percentile(double[] sorted, int count, double p) =>
        count == 0 ? double.NaN : sorted[Math.Min(count - 1, (int)(p * count))];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static double Round(double value) => double.IsFinite(value) ? Math.Round(value, value >= 100 ? 1 : 4) : double.NaN;

    // Adds name (the median across rounds), name_min and name_max.
    public static void AddSpread(JsonObject line, string name, IReadOnlyList<double> perRound)
    {
        line[name] = Round(Median(perRound));
        line[name + "_min"] = Round(perRound.Min());
        line[name + "_max"] = Round(perRound.Max());
    }
}
