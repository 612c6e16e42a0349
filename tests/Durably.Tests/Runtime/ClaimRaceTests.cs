using Durably.Storage;

namespace Durably.Tests.Runtime;

// The worker's claim loop racing the end of a run's previous activation in the same worker.
public sealed class ClaimRaceTests
{
    private static readonly RunId Id = new("claim-race");

    // A run suspends and its activation releases the lease; before that activation has left, the run becomes due (a
    // signal arrives, a retry timer fires) and the loop claims it. The loop used to keep that fresh lease without
    // executing the run, which then stalled until the lease expired (30 s by default): seen as a run "stuck in retry"
    // on a loaded machine. The claim must end in an execution now, not after the lease.
    [Fact]
    public async Task Claim_WhileThePreviousActivationIsLeaving_RunExecutesWithoutWaitingForTheLease()
    {
        await using var harness = new RuntimeHarness();
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var leaving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var claimedWhileLeaving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = 0;
        harness.Store.AfterRelease = async lease =>
        {
            // Hold the first activation between its lease release and its exit, once. Only a release after the suspension
            // is that activation's: at the start the loop may claim the new run just as the client activates it, and let
            // its own lease go (a release while the run is pending); holding that one would hold the loop instead.
            if ((await harness.Store.Inner.GetRunAsync(lease.RunId))?.Status == RunStatus.Suspended && Interlocked.Exchange(ref held, 1) == 0)
            {
                released.SetResult();
                await leaving.Task;
            }
        };
        harness.Store.Claimed = leases =>
        {
            if (Volatile.Read(ref held) == 1 && leases.Any(l => l.RunId == Id))
            {
                claimedWhileLeaving.TrySetResult();
            }
        };

        var worker = await harness.StartAsync(
            r => r.Register<int, string>("waits", async (ctx, _) => await ctx.WaitForSignalAsync<string>("go")),
            o => new DurableRuntimeOptions { WorkerId = o.WorkerId, TimeProvider = o.TimeProvider, PollInterval = o.PollInterval, DefaultRetry = o.DefaultRetry, LeaseDuration = TimeSpan.FromSeconds(60) });
        await worker.Client.StartAsync("waits", 0, new StartRunOptions { RunId = Id });
        try
        {
            await released.Task.WaitAsync(TimeSpan.FromSeconds(20));

            // Delivered straight to the store, as another process would: the run is due, and the loop's next poll claims it.
            await harness.Store.DeliverSignalAsync(Id, new SignalMessage("go", Journal.Payload.FromValue("now"), "test"));
            await claimedWhileLeaving.Task.WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            // Also when a wait above failed: the held activation must leave, or disposing the runtime waits for it forever.
            leaving.TrySetResult();
        }

        using var soon = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Assert.Equal("now", await worker.Client.GetResultAsync<string>(Id, soon.Token));
    }

    // A client activates a run by id right after it starts the run or signals it. Under load the worker's loop can claim
    // the run first and execute it to its next suspension before that activation comes. The activation then found a
    // suspended run that nothing had woken, leased it anyway, replayed it and suspended it again, writing a needless
    // RunResumed (seen as an extra crash point in the crash tester and a journal longer than a test had read).
    [Fact]
    public async Task ActivateById_RunAlreadySuspendedAndNotDue_IsNotLeasedOrReplayed()
    {
        await using var harness = new RuntimeHarness();
        var worker = await harness.StartAsync(r => r.Register<int, string>("waits", async (ctx, _) =>
        {
            await ctx.StepAsync("before", _ => Task.FromResult(1));
            return await ctx.WaitForSignalAsync<string>("go");
        }));
        await worker.Client.StartAsync("waits", 0, new StartRunOptions { RunId = Id });
        var suspended = await WaitForReleasedSuspensionAsync(harness);

        await worker.TryActivateAsync(Id);

        var after = (await harness.Store.GetRunAsync(Id))!;
        Assert.Equal((suspended.LeaseEpoch, suspended.NextSequence, RunStatus.Suspended), (after.LeaseEpoch, after.NextSequence, after.Status));
        Assert.Null(after.LeaseOwner);

        // A signal makes it due: then the same activation executes it.
        await worker.Client.SignalAsync(Id, "go", "now");
        using var soon = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Assert.Equal("now", await worker.Client.GetResultAsync<string>(Id, soon.Token));
    }

    private static async Task<RunRecord> WaitForReleasedSuspensionAsync(RuntimeHarness harness)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var run = await harness.Store.GetRunAsync(Id);
            if (run is { Status: RunStatus.Suspended, LeaseOwner: null })
            {
                return run;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The run did not suspend and release its lease: {run?.Status}, lease {run?.LeaseOwner}.");
            await Task.Delay(10);
        }
    }
}
