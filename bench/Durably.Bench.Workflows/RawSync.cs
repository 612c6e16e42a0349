using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Durably.Bench.Workflows;

// The floor: the bytes one step adds to the journal, appended to a plain file in the same folder and made durable with
// fdatasync, in a loop on one thread. No engine can make a step durable for less.
internal static partial class RawSync
{
    public readonly record struct Result(int Ops, double P50Ms, double P99Ms, double OpsPerSecond);

    public static Result Measure(string path, int bytes, double seconds)
    {
        var record = new byte[Math.Max(1, bytes)];
        Random.Shared.NextBytes(record);
        var samples = new double[1_000_000];
        var count = 0;
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
            var offset = 0L;
            var started = Stopwatch.GetTimestamp();
            // At least 100 operations, so that a p99 means something even with a short window.
            while (count < samples.Length && (count < 100 || Stopwatch.GetElapsedTime(started).TotalSeconds < seconds))
            {
                var op = Stopwatch.GetTimestamp();
                RandomAccess.Write(handle, record, offset);
                offset += record.Length;
                Sync(handle);
                samples[count++] = Stopwatch.GetElapsedTime(op).TotalMilliseconds;
            }

            var total = Stopwatch.GetElapsedTime(started).TotalSeconds;
            Array.Sort(samples, 0, count);
            return new Result(count, Stats.Percentile(samples, count, 0.50), Stats.Percentile(samples, count, 0.99), count / total);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void Sync(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
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
