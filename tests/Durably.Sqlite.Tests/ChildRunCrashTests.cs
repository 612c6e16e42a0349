using System.Diagnostics;
using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;
using Durably.TestHost;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// Child runs on real processes: a host running a lead agent and its three sub-agents (ChildWorkflows) is killed with SIGKILL
// while every sub-agent is inside an effect, and started again on the same journal file.
public sealed class ChildRunCrashTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Topics = ["wal", "lsm", "btree"];
    private readonly TempFolder _folder = new();

    [Fact]
    public async Task Host_KilledWhileChildrenRunThenRestarted_ParentCompletesAndEachChildBodyRanOnce()
    {
        var path = _folder.File("agent.db");
        var ledger = _folder.File("ledger");
        var parent = new RunId("lead-1");
        var children = Enumerable.Range(1, Topics.Length).Select(step => RunId.ForChild(parent, step)).ToList();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        string[] args = ["children", path, parent.Value, ledger, .. Topics];

        using (var first = ChildProcess.Start(args))
        {
            try
            {
                await first.WaitForLineAsync("started ", timeout.Token);
                // Every sub-agent waits at the gate inside its second effect: the first one's outcome is durable.
                for (var waiting = 0; waiting < Topics.Length; waiting++)
                {
                    await first.WaitForLineAsync("at-gate ", timeout.Token);
                }

                Assert.Equal(Topics.Length, Ledger(ledger).Count(l => l.StartsWith("fetch ", StringComparison.Ordinal)));
                first.Kill(); // SIGKILL
                await first.WaitForExitAsync(timeout.Token);
            }
            finally
            {
                KillIfRunning(first);
            }
        }

        // What the killed host left: the parent unloaded, waiting for its three children, which are mid-run.
        await using (var store = await SqliteJournalStore.OpenAsync(path))
        {
            var run = await store.GetRunAsync(parent);
            Assert.Equal(RunStatus.Suspended, run!.Status);
            Assert.All(children, c => Assert.Contains($"waits for run '{c}'", run.StatusDetail, StringComparison.Ordinal));
            var journal = await store.ReadAsync(parent);
            Assert.Equal(children, journal.OfType<StepStarted>().Where(s => s.Kind == StepKind.Child).Select(s => s.ChildRunId!.Value));
            Assert.Empty(journal.OfType<StepCompleted>());
            foreach (var child in children)
            {
                Assert.False((await store.GetRunAsync(child))!.Status.IsFinished());
                Assert.Equal(parent, ((RunStarted)(await store.ReadAsync(child))[0]).ParentRunId);
            }
        }

        await File.WriteAllTextAsync(ledger + ".go", string.Empty, timeout.Token);
        using (var second = ChildProcess.Start(args))
        {
            try
            {
                Assert.Equal("result " + ChildWorkflows.Expected(Topics), await second.WaitForLineAsync("result ", timeout.Token));
                await second.WaitForExitAsync(timeout.Token);
                Assert.Equal(0, second.ExitCode);
            }
            finally
            {
                KillIfRunning(second);
            }
        }

        // Each body ran once: every idempotency key is in the ledger exactly once. The first host fetched, the second wrote.
        var lines = Ledger(ledger);
        output.WriteLine(string.Join("\n", lines));
        var expected = children.SelectMany(c => new[] { $"fetch {c}:1", $"write {c}:2" }).Append($"publish {parent}:{Topics.Length + 1}");
        Assert.Equal(expected.Order(), lines.Select(l => string.Join(' ', l.Split(' ')[..2])).Order());
        var fetchedBy = lines.Where(l => l.StartsWith("fetch ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).Distinct().Single();
        var wroteBy = lines.Where(l => l.StartsWith("write ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).Distinct().Single();
        Assert.NotEqual(fetchedBy, wroteBy);

        await using var reopened = await SqliteJournalStore.OpenAsync(path);
        var report = await JournalVerifier.VerifyAsync(reopened);
        Assert.True(report.IsSound, string.Join("\n", report.Problems.Select(p => $"{p.RunId} {p.Sequence}: {p.Message}")));
        Assert.Equal(Topics.Length + 1, report.Runs);
        var timeline = await RunTimeline.LoadAsync(reopened, parent);
        Assert.Equal(children, timeline.Children);
        Assert.All(timeline.Steps.Where(s => s.Kind == StepKind.Child), s => Assert.Equal((StepState.Completed, RunStatus.Completed), (s.State, s.ChildStatus)));
        foreach (var child in children)
        {
            Assert.Single((await reopened.ReadAsync(child)).OfType<RunCompleted>());
        }
    }

    public void Dispose() => _folder.Dispose();

    // The host appends under an exclusive lock on the file; reading meanwhile fails, and is tried again.
    private static List<string> Ledger(string path)
    {
        while (true)
        {
            try
            {
                return File.Exists(path) ? [.. File.ReadAllLines(path).Where(l => l.Length > 0)] : [];
            }
            catch (IOException)
            {
                Thread.Sleep(5);
            }
        }
    }

    private static void KillIfRunning(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
    }
}
