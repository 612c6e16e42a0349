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
        harness.Store.AfterRelease = async _ =>
        {
            // Hold the first activation between its lease release and its exit, once.
            if (Interlocked.Exchange(ref held, 1) == 0)
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
        await released.Task.WaitAsync(TimeSpan.FromSeconds(20));

        // Delivered straight to the store, as another process would: the run is due, and the loop's next poll claims it.
        await harness.Store.DeliverSignalAsync(Id, new SignalMessage("go", Journal.Payload.FromValue("now"), "test"));
        await claimedWhileLeaving.Task.WaitAsync(TimeSpan.FromSeconds(20));
        leaving.SetResult();

        using var soon = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Assert.Equal("now", await worker.Client.GetResultAsync<string>(Id, soon.Token));
    }
}
