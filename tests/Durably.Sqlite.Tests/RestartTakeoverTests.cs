using System.Diagnostics;
using System.Globalization;
using Durably.Storage;
using Durably.TestHost;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// The quick start's promise with default options (worker id {machine}:{pid}, 30-second leases): a host killed with SIGKILL
// and started again continues its run at once, although the new process has another worker id and the old lease has not
// expired; and a live host in another process keeps its runs.
public sealed class RestartTakeoverTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Lease = new DurableRuntimeOptions().LeaseDuration;
    private readonly TempFolder _folder = new();

    [Fact]
    public async Task DefaultHost_KilledMidRunThenStartedAgain_NewProcessTakesTheRunOverAtOnceWithNewEpoch()
    {
        var path = _folder.File("agent.db");
        var gate = _folder.File("gate");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        RunRecord killed;
        using (var first = ChildProcess.Start("default-host", path, "restarted", gate))
        {
            try
            {
                await first.WaitForLineAsync("in-two restarted ", timeout.Token);
                killed = await ReadRunAsync(path, "restarted");
                first.Kill(); // SIGKILL, inside step "two"
                await first.WaitForExitAsync(timeout.Token);
            }
            finally
            {
                KillIfRunning(first);
            }
        }

        await File.WriteAllTextAsync(gate + ".restarted", string.Empty);
        using var second = ChildProcess.Start("default-host", path, "restarted", gate);
        try
        {
            var opening = Millis(await second.WaitForLineAsync("opening ", timeout.Token));
            var opened = Millis(await second.WaitForLineAsync("opened ", timeout.Token));
            var takeover = await WaitForClaimAsync(second, "restarted", timeout.Token);
            var inTwo = await second.WaitForLineAsync("in-two restarted ", timeout.Token);
            await second.WaitForLineAsync("finished restarted Completed 16", timeout.Token);
            await second.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, second.ExitCode);

            var claimedAt = takeover.ExpiresAt - Lease;
            output.WriteLine($"old lease: owner {killed.LeaseOwner}, epoch {killed.LeaseEpoch}, {(killed.LeaseExpiresAt!.Value - claimedAt).TotalSeconds:F1} s left at the takeover");
            output.WriteLine($"new host: store opened {(opened - opening).TotalMilliseconds:F0} ms after it started opening; run claimed {(claimedAt - opened).TotalMilliseconds:F0} ms after the store was open (epoch {takeover.Epoch}); step two began {(DateTimeOffset.FromUnixTimeMilliseconds(Millis(inTwo, 3)) - opened).TotalMilliseconds:F0} ms after it");
            Assert.True(takeover.Epoch > killed.LeaseEpoch);
            Assert.Equal(takeover.Epoch.ToString(CultureInfo.InvariantCulture), inTwo.Split(' ')[2]); // step two ran under the new fencing token
            Assert.True(claimedAt < killed.LeaseExpiresAt, $"the run was claimed at {claimedAt:O}, once the old lease had expired ({killed.LeaseExpiresAt:O})");
            Assert.True(claimedAt - opened < TimeSpan.FromSeconds(1), $"the run was claimed {(claimedAt - opened).TotalMilliseconds:F0} ms after the store was open");
        }
        finally
        {
            KillIfRunning(second);
        }
    }

    [Fact]
    public async Task TwoDefaultHosts_SecondStartsWhileFirstRuns_LeavesItsRunAloneUntilTheFirstIsKilled()
    {
        var path = _folder.File("agent.db");
        var gate = _folder.File("gate");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var first = ChildProcess.Start("default-host", path, "held", gate);
        Process? second = null;
        try
        {
            await first.WaitForLineAsync("in-two held ", timeout.Token);
            var held = await ReadRunAsync(path, "held");
            second = ChildProcess.Start("default-host", path, "-", gate);

            // The second host's start-up claim and two of its polls: none takes the run of the live first host.
            for (var pass = 0; pass < 3; pass++)
            {
                var line = await second.WaitForLineAsync("claim-pass ", timeout.Token);
                Assert.DoesNotContain(" held:", line, StringComparison.Ordinal);
            }

            var still = await ReadRunAsync(path, "held");
            Assert.Equal((held.LeaseOwner, held.LeaseEpoch), (still.LeaseOwner, still.LeaseEpoch));

            // Once the first host is gone, the second takes the run over at its next poll, long before the lease ends.
            var killedAt = DateTimeOffset.UtcNow;
            first.Kill();
            await first.WaitForExitAsync(timeout.Token);
            var takeover = await WaitForClaimAsync(second, "held", timeout.Token);
            var claimedAt = takeover.ExpiresAt - Lease;
            output.WriteLine($"the second host took the run over {(claimedAt - killedAt).TotalMilliseconds:F0} ms after the first was killed, with epoch {takeover.Epoch} (was {held.LeaseEpoch}), {(still.LeaseExpiresAt!.Value - claimedAt).TotalSeconds:F1} s before the old lease would have expired");
            Assert.True(takeover.Epoch > held.LeaseEpoch);
            Assert.True(claimedAt < still.LeaseExpiresAt);

            await File.WriteAllTextAsync(gate + ".held", string.Empty);
            await second.WaitForLineAsync("finished held Completed 16", timeout.Token);
            var done = await ReadRunAsync(path, "held");
            Assert.Equal(RunStatus.Completed, done.Status);
        }
        finally
        {
            KillIfRunning(first);
            if (second is not null)
            {
                KillIfRunning(second);
                second.Dispose();
            }
        }
    }

    public void Dispose() => _folder.Dispose();

    // Reads the host's claim passes up to the one that took the run, and returns that lease's epoch and expiry.
    private static async Task<(long Epoch, DateTimeOffset ExpiresAt)> WaitForClaimAsync(Process host, string runId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await host.WaitForLineAsync("claim-pass ", cancellationToken);
            Assert.Equal(((long)Lease.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), line.Split(' ')[1]);
            if (line.Split(' ').Skip(2).Select(l => l.Split(':')).FirstOrDefault(l => l[0] == runId) is { } lease)
            {
                return (long.Parse(lease[1], CultureInfo.InvariantCulture), DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(lease[2], CultureInfo.InvariantCulture)));
            }
        }
    }

    private static async Task<RunRecord> ReadRunAsync(string path, string runId)
    {
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });
        return await store.GetRunAsync(new RunId(runId)) ?? throw new InvalidOperationException($"Run '{runId}' is not in the journal.");
    }

    private static long Millis(string line, int field) => long.Parse(line.Split(' ')[field], CultureInfo.InvariantCulture);

    private static DateTimeOffset Millis(string line) => DateTimeOffset.FromUnixTimeMilliseconds(Millis(line, 1));

    private static void KillIfRunning(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
    }
}
