using System.Globalization;
using Durably.Journal;
using Durably.Storage;
using Durably.TestHost;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// Two host processes with their own worker ids share one SQLite journal. Leases (claimed in the file's write
// transaction) share the runs out: no run is executed by both, no effect runs twice, and every run completes.
public sealed class TwoHostsTests(ITestOutputHelper output) : IDisposable
{
    private const int Runs = 20;
    private readonly TempFolder _folder = new();

    [Fact]
    public async Task TwoHostProcesses_TwentyRunsOnOneJournal_EachRunExecutedByOneHostEachEffectOnceAllComplete()
    {
        var path = _folder.File("shared.db");
        var ledger = _folder.File("ledger.txt");
        var runIds = Enumerable.Range(0, Runs).Select(i => new RunId($"shared-{i.ToString(CultureInfo.InvariantCulture)}")).ToList();
        await using (var store = await SqliteJournalStore.OpenAsync(path))
        {
            // A client (it executes nothing) starts the runs; the hosts find them pending.
            var client = new DurableClient(store);
            for (var i = 0; i < Runs; i++)
            {
                await client.StartAsync(SharedWorker.Workflow, i, new StartRunOptions { RunId = runIds[i] });
            }
        }

        using var hostA = ChildProcess.Start("shared-worker", path, "host-a", ledger);
        using var hostB = ChildProcess.Start("shared-worker", path, "host-b", ledger);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await Task.WhenAll(hostA.WaitForLineAsync("started", timeout.Token), hostB.WaitForLineAsync("started", timeout.Token));

            // Both hosts have claimed runs and wait at their first step: let them go, and let them share out the rest.
            await File.WriteAllTextAsync(ledger + ".go", string.Empty);
            foreach (var (host, worker) in new[] { (hostA, "host-a"), (hostB, "host-b") })
            {
                var rest = await host.StandardOutput.ReadToEndAsync(timeout.Token) + await host.StandardError.ReadToEndAsync(timeout.Token);
                await host.WaitForExitAsync(timeout.Token);
                output.WriteLine($"{worker} exited {host.ExitCode}: {rest.Trim()}");
                Assert.True(host.ExitCode == 0, $"{worker} exited {host.ExitCode}: {rest}");
            }
        }
        finally
        {
            foreach (var host in new[] { hostA, hostB }.Where(h => !h.HasExited))
            {
                host.Kill(entireProcessTree: true);
            }
        }

        // Ledger lines are "WORKER RUN KEY", one per executed step body.
        var executed = File.ReadAllLines(ledger).Select(line => line.Split(' ')).ToList();
        Assert.All(executed, parts => Assert.Equal(3, parts.Length));
        var twice = executed.GroupBy(parts => parts[2]).Where(g => g.Count() > 1).Select(g => $"{g.Key} by {string.Join(" and ", g.Select(p => p[0]))}").ToList();
        Assert.True(twice.Count == 0, "Effects executed more than once: " + string.Join("; ", twice));
        Assert.Equal(Runs * SharedWorker.Steps, executed.Count);
        var shared = executed.GroupBy(parts => parts[1]).Where(g => g.Select(p => p[0]).Distinct().Count() > 1).Select(g => g.Key).ToList();
        Assert.True(shared.Count == 0, "Runs executed by both hosts: " + string.Join(", ", shared));
        var perHost = executed.GroupBy(parts => parts[0]).ToDictionary(g => g.Key, g => g.Select(p => p[1]).Distinct().Count());
        output.WriteLine(string.Join(", ", perHost.Select(h => $"{h.Key} executed {h.Value} runs")));
        Assert.Equal(2, perHost.Count);

        await using var reopened = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });
        for (var i = 0; i < Runs; i++)
        {
            Assert.Equal(RunStatus.Completed, (await reopened.GetRunAsync(runIds[i]))!.Status);
            var completed = Assert.IsType<RunCompleted>((await reopened.ReadAsync(runIds[i]))[^1]);
            Assert.Equal(SharedWorker.Expected(i), completed.Result!.ToValue<int>());
        }

        Assert.True((await Inspection.JournalVerifier.VerifyAsync(reopened)).IsSound);
    }

    public void Dispose() => _folder.Dispose();
}
