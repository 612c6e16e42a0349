using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;
using Xunit.Abstractions;

namespace Durably.Cli.Tests;

// A host appends and reads on many threads while the durably tool, in other processes, lists runs and delivers signals
// on the same file: nobody fails because of anybody else, and nothing acknowledged is lost or reordered.
public sealed class ConcurrentAccessTests(ITestOutputHelper output) : IDisposable
{
    private const int Appenders = 8;
    private const int Readers = 4;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Store_ReadersWritersAndToolProcessesTogether_NoErrorsAndEveryAcknowledgedAppendReadableInOrder()
    {
        var path = _folder.File("journal.db");
        await using var store = await SqliteJournalStore.OpenAsync(path);
        var acknowledged = new long[Appenders];
        var errors = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        long reads = 0;

        var appenders = Enumerable.Range(0, Appenders).Select(r => Task.Run(async () =>
        {
            for (long seq = 0; !stop.IsCancellationRequested; seq++)
            {
                JournalEntry entry = seq == 0
                    ? new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "stress" }
                    : new StepCompleted { Sequence = seq, Timestamp = DateTimeOffset.UnixEpoch, Step = (int)seq, Result = Payload.FromValue(seq) };
                await store.AppendAsync(new RunAppend(RunOf(r), seq, [entry]));
                Volatile.Write(ref acknowledged[r], seq + 1);
            }
        })).ToArray();
        while (Enumerable.Range(0, Appenders).Any(r => Volatile.Read(ref acknowledged[r]) == 0))
        {
            await Task.Yield();
        }

        var readers = Enumerable.Range(0, Readers).Select(t => Task.Factory.StartNew(
            () =>
            {
                var random = new Random(t);
                while (!stop.IsCancellationRequested)
                {
                    var r = random.Next(Appenders);
                    var known = Volatile.Read(ref acknowledged[r]);
                    try
                    {
                        var count = random.Next(3) switch
                        {
                            0 => store.GetRunAsync(RunOf(r)).GetAwaiter().GetResult()!.NextSequence,
                            1 => InOrder(store.ReadAsync(RunOf(r)).GetAwaiter().GetResult()),
                            _ => store.ListRunsAsync(new RunQuery { PageSize = 4 }).GetAwaiter().GetResult().Runs.Count > 0 ? known : -1,
                        };
                        if (count < known)
                        {
                            errors.Enqueue($"a read of {RunOf(r)} saw {count} entries after {known} were acknowledged");
                        }

                        Interlocked.Increment(ref reads);
                    }
                    catch (Exception ex)
                    {
                        errors.Enqueue($"host read: {ex.GetType().Name}: {ex.Message}");
                    }
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();

        // The tool in other processes, one after the other: list as JSON, and deliver a signal to a run being appended to.
        var clock = Stopwatch.StartNew();
        var lists = 0;
        var signals = new List<(RunId Run, long SignalId, string Payload)>();
        while (clock.Elapsed < TimeSpan.FromSeconds(6) || lists < 3)
        {
            var list = await Processes.DurablyAsync("runs", "list", "--json", "--store", path);
            if (list.ExitCode != 0)
            {
                errors.Enqueue($"durably runs list: {list}");
            }
            else
            {
                using var listed = JsonDocument.Parse(list.Stdout);
                var ids = listed.RootElement.GetProperty("runs").EnumerateArray().Select(run => run.GetProperty("runId").GetString()).ToList();
                if (!Enumerable.Range(0, Appenders).All(r => ids.Contains(RunOf(r).Value)))
                {
                    errors.Enqueue($"durably runs list did not list every run: {list.Stdout}");
                }
            }

            var target = RunOf(lists % Appenders);
            var payload = $$"""{"n":{{lists}}}""";
            var signal = await Processes.DurablyAsync("signal", target.Value, "poke", payload, "--json", "--store", path);
            if (signal.ExitCode != 0)
            {
                errors.Enqueue($"durably signal: {signal}");
            }
            else
            {
                using var delivered = JsonDocument.Parse(signal.Stdout);
                signals.Add((target, delivered.RootElement.GetProperty("signalId").GetInt64(), payload));
            }

            lists++;
        }

        await stop.CancelAsync();
        await Task.WhenAll(appenders.Concat(readers)).WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: {acknowledged.Sum()} appends, {Interlocked.Read(ref reads)} reads in the host, {lists} lists and {signals.Count} signals from the tool");

        Assert.Empty(errors);
        for (var r = 0; r < Appenders; r++)
        {
            Assert.Equal(Enumerable.Range(0, (int)acknowledged[r]).Select(i => (long)i), (await store.ReadAsync(RunOf(r))).Select(e => e.Sequence));
        }

        foreach (var (run, signalId, payload) in signals)
        {
            var delivered = (await store.ReadSignalsAsync(run)).Single(s => s.SignalId == signalId);
            Assert.Equal(Payload.FromJson(payload), delivered.Payload);
        }

        Assert.True(Interlocked.Read(ref reads) > 100, "Too few host reads ran to exercise concurrency.");
    }

    private static RunId RunOf(int index) => new($"stress-{index}");

    // The number of entries read, or -1 when they are not numbered 0, 1, 2, ... in order.
    private static long InOrder(IReadOnlyList<JournalEntry> entries)
        => entries.Select((e, i) => e.Sequence == i).All(ok => ok) ? entries.Count : -1;
}
