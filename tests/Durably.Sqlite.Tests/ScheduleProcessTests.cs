using System.Diagnostics;
using Durably.TestHost;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// Schedules with two worker processes sharing one SQLite file: every worker runs a scheduler, and each fire must start exactly
// one run, also when a worker is killed (SIGKILL) in the middle of firing and executing. (The SQLite store lets several
// processes run workers on one file: saves and claims are write transactions SQLite serializes across processes, and a dead
// worker's leases are taken over at once through its released owner lock, see LeaseOwnerLocks.)
public sealed class ScheduleProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _folder = new();

    [Fact]
    public async Task Schedule_EverySecondForAMinute_TwoProcessesOneKilled_StartsEachFireExactlyOnce()
    {
        var path = _folder.File("journal.db");
        var ledger = _folder.File("ledger.txt");
        await (await SqliteJournalStore.OpenAsync(path)).DisposeAsync();
        using var a = Start(path, "sched-a", ledger);
        using var b = Start(path, "sched-b", ledger);
        try
        {
            using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await a.WaitForLineAsync("ready", ready.Token);
            await b.WaitForLineAsync("ready", ready.Token);
            _ = DrainAsync(a);
            _ = DrainAsync(b);
            await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });

            // Both schedulers race for every fire; part way, one of them dies with runs in flight and fires half-started.
            await WaitUntilAsync(async () => (await ScheduleWorker.ReadFiresAsync(store)).Count >= 20, "20 fires");
            b.Kill();
            await b.WaitForExitAsync();
            var first = (await ScheduleWorker.ReadFiresAsync(store)).Min(f => f.Fire!.Value);
            await WaitUntilAsync(async () => (await ScheduleWorker.ReadFiresAsync(store)).Any(f => f.Fire >= first.AddSeconds(62)), "a minute of fires");
            await new DurableClient(store).Schedules.PauseAsync(ScheduleWorker.ScheduleId);
            await WaitUntilAsync(async () => (await ScheduleWorker.ReadFiresAsync(store)).All(f => f.Run.Status == Storage.RunStatus.Completed), "every run to complete");

            var fires = await ScheduleWorker.ReadFiresAsync(store);
            Assert.All(fires, f => Assert.NotNull(f.Fire));
            var seconds = fires.Select(f => f.Fire!.Value).Order().ToList();
            var span = (int)(seconds[^1] - seconds[0]).TotalSeconds + 1;
            var applied = (await File.ReadAllLinesAsync(ledger)).Where(l => l.Length > 0).Select(l => l.Split(' ')).ToList();
            var attempts = (await File.ReadAllLinesAsync(ledger + ".attempts")).Count(l => l.Length > 0);
            output.WriteLine($"fires {seconds.Count} over {span} s from {seconds[0]:O}; effects {applied.Count}; effect attempts {attempts}");

            // Every second of the window has exactly one run (no fire missed, none started twice) ...
            Assert.True(span >= 61, $"The fires cover {span} s, not a minute.");
            Assert.Equal([.. Enumerable.Range(0, span).Select(i => seconds[0].AddSeconds(i))], seconds);

            // ... and each run's side effect happened once: one applied key per run, for every run.
            Assert.Equal(fires.Select(f => f.Run.RunId.Value).Order(), applied.Select(l => l[1]).Order());
        }
        finally
        {
            foreach (var worker in new[] { a, b })
            {
                if (!worker.HasExited)
                {
                    worker.Kill();
                    await worker.WaitForExitAsync();
                }
            }
        }
    }

    private static Process Start(string path, string worker, string ledger)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            // Standard input stays open: the worker runs until it closes or the process is killed.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "Durably.TestHost.dll"), "schedule-worker", "sqlite", path, worker, ledger })
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("Could not start Durably.TestHost.");
    }

    // Reads the worker's log so that a full pipe never blocks it.
    private static async Task DrainAsync(Process process)
    {
        await Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Waited 3 minutes for {what}.");
            await Task.Delay(250);
        }
    }

    public void Dispose() => _folder.Dispose();
}
