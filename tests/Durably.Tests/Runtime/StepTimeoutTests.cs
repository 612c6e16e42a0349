using System.Threading.Channels;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Tests.Runtime;

// Start-to-close and heartbeat timeouts, the lease that follows a heartbeat step, and cancellation reaching a step body's
// token. Every claim here is logical, so the clock is fake: the test moves it, and nothing depends on how fast the machine is.
public sealed class StepTimeoutTests
{
    private static readonly RunId Id = new("timeout-run");
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);
    private static readonly RetryPolicy OneRetryAtOnce = new() { MaxAttempts = 2, InitialDelay = TimeSpan.Zero, Jitter = 0 };

    [Fact]
    public async Task StartToCloseTimeout_BodyHonoursItsToken_AttemptFailsWithTimeoutAndTheRetryPolicyRunsItAgain()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawCancellation = false;
        var runtime = await harness.StartAsync(r => r.Register<int, string>("slow", async (ctx, _) => await ctx.StepAsync("fetch", async step =>
        {
            if (step.Attempt == 1)
            {
                started.SetResult();
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, step.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    sawCancellation = step.TimedOutBy == StepTimeoutKind.StartToClose;
                    throw;
                }
            }

            return "second attempt";
        }, new StepOptions { StartToCloseTimeout = Limit, Retry = OneRetryAtOnce })));
        await runtime.Client.StartAsync("slow", 0, new StartRunOptions { RunId = Id });
        await started.Task.WaitAsync(RuntimeHarness.Timeout);

        harness.Clock!.Advance(Limit - TimeSpan.FromMilliseconds(1));
        Assert.False(sawCancellation);
        harness.Clock.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal("second attempt", await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.True(sawCancellation, "the body's token was not cancelled for the timeout");
        var journal = await harness.Store.ReadAsync(Id);
        var failed = journal.OfType<StepFailed>().Single();
        Assert.Equal(1, failed.Attempt);
        Assert.Equal(typeof(StepTimeoutException).FullName, failed.Error.Type);
        Assert.Contains("StartToCloseTimeout of 00:00:05", failed.Error.Message, StringComparison.Ordinal);
        Assert.Equal(2, journal.OfType<StepCompleted>().Single().Attempt);
    }

    [Fact]
    public async Task StartToCloseTimeout_BodyIgnoresItsToken_AttemptIsAbandonedAfterTheGraceAndItsLateResultDiscarded()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runtime = await harness.StartAsync(r => r.Register<int, string>("stuck", async (ctx, _) => await ctx.StepAsync("fetch", async step =>
        {
            started.SetResult();
            await release.Task;  // never looks at its token
            finished.SetResult();
            return "too late";
        }, new StepOptions { StartToCloseTimeout = Limit, Retry = RetryPolicy.None })));
        await runtime.Client.StartAsync("stuck", 0, new StartRunOptions { RunId = Id });
        await started.Task.WaitAsync(RuntimeHarness.Timeout);

        // The limit, then the grace: the run does not wait for the body any longer.
        var failure = await Assert.ThrowsAsync<RunFailedException>(() => harness.AdvanceUntilResultAsync<string>(runtime, Id, Limit));

        Assert.Equal(RunStatus.Failed, failure.Status);
        Assert.Contains(nameof(StepTimeoutException), failure.Message, StringComparison.Ordinal);
        Assert.False(finished.Task.IsCompleted);
        var before = await harness.Store.ReadAsync(Id);

        // The abandoned body ends later: nothing it returns reaches the journal.
        release.SetResult();
        await finished.Task.WaitAsync(RuntimeHarness.Timeout);
        await Task.Delay(100);
        Assert.Equal(before.Count, (await harness.Store.ReadAsync(Id)).Count);
        Assert.Empty((await harness.Store.ReadAsync(Id)).OfType<StepCompleted>());
    }

    [Fact]
    public async Task StartToCloseTimeout_NonRetryable_FailsTheStepOnTheFirstTimeout()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var attempts = 0;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runtime = await harness.StartAsync(r => r.Register<int, string>("slow", async (ctx, _) => await ctx.StepAsync("fetch", async step =>
        {
            Interlocked.Increment(ref attempts);
            started.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, step.CancellationToken);
            return "never";
        }, new StepOptions { StartToCloseTimeout = Limit, Retry = OneRetryAtOnce with { NonRetryable = [typeof(StepTimeoutException)] } })));
        await runtime.Client.StartAsync("slow", 0, new StartRunOptions { RunId = Id });
        await started.Task.WaitAsync(RuntimeHarness.Timeout);

        harness.Clock!.Advance(Limit);

        var failure = await Assert.ThrowsAsync<RunFailedException>(() => runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Contains(nameof(StepTimeoutException), failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, attempts);
        Assert.Null((await harness.Store.ReadAsync(Id)).OfType<StepFailed>().Single().RetryAt);
    }

    [Fact]
    public async Task HeartbeatTimeout_BodyStopsHeartbeating_IsTreatedAsHungWithItsLastDetailsJournaled()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var beating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        StepTimeoutKind? seen = null;
        var runtime = await harness.StartAsync(r => r.Register<int, string>("hangs", async (ctx, _) => await ctx.StepAsync("crawl", async step =>
        {
            step.Heartbeat("page 3 of 10");
            beating.SetResult();
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, step.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                seen = step.TimedOutBy;
                throw;
            }

            return "never";
        }, new StepOptions { HeartbeatTimeout = Limit, Retry = RetryPolicy.None })));
        await runtime.Client.StartAsync("hangs", 0, new StartRunOptions { RunId = Id });
        await beating.Task.WaitAsync(RuntimeHarness.Timeout);

        await harness.AdvanceKeepingTheLeaseAsync(Id, Limit);

        var failure = await Assert.ThrowsAsync<RunFailedException>(() => runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Contains("did not heartbeat for 00:00:05", failure.Message, StringComparison.Ordinal);
        Assert.Equal(StepTimeoutKind.Heartbeat, seen);
        var failed = (await harness.Store.ReadAsync(Id)).OfType<StepFailed>().Single();
        Assert.Equal(typeof(StepTimeoutException).FullName, failed.Error.Type);
        Assert.Contains("Last heartbeat: page 3 of 10", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeartbeatTimeout_BodyHeartbeatsWithinEveryTimeout_RunsFarLongerThanTheTimeoutAndCompletes()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var orders = Channel.CreateUnbounded<bool>();
        var acks = Channel.CreateUnbounded<int>();
        var runtime = await harness.StartAsync(r => r.Register<int, int>("beats", async (ctx, _) => await ctx.StepAsync("crawl", async step =>
        {
            var beats = 0;
            step.Heartbeat();
            await acks.Writer.WriteAsync(beats);
            while (await orders.Reader.ReadAsync(step.CancellationToken))
            {
                step.Heartbeat($"beat {++beats}");
                await acks.Writer.WriteAsync(beats);
            }

            return beats;
        }, new StepOptions { HeartbeatTimeout = Limit, Retry = RetryPolicy.None })));
        await runtime.Client.StartAsync("beats", 0, new StartRunOptions { RunId = Id });
        await acks.Reader.ReadAsync(RuntimeHarness.Timeout);

        // Eight beats 3 s apart: 24 s in all, nearly five timeouts, yet never 5 s without a beat.
        for (var i = 0; i < 8; i++)
        {
            await harness.AdvanceKeepingTheLeaseAsync(Id, TimeSpan.FromSeconds(3));
            await orders.Writer.WriteAsync(true);
            await acks.Reader.ReadAsync(RuntimeHarness.Timeout);
        }

        await orders.Writer.WriteAsync(false);
        Assert.Equal(8, await runtime.Client.GetResultAsync<int>(Id, RuntimeHarness.Timeout));
        Assert.Empty((await harness.Store.ReadAsync(Id)).OfType<StepFailed>());
    }

    [Fact]
    public async Task HeartbeatTimeout_BodyNeverHeartbeats_IsNotTreatedAsHung()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runtime = await harness.StartAsync(r => r.Register<int, string>("quiet", async (ctx, _) => await ctx.StepAsync("call", async step =>
        {
            started.SetResult();
            await release.Task.WaitAsync(step.CancellationToken);
            return "done";
        }, new StepOptions { HeartbeatTimeout = Limit, Retry = RetryPolicy.None })));
        await runtime.Client.StartAsync("quiet", 0, new StartRunOptions { RunId = Id });
        await started.Task.WaitAsync(RuntimeHarness.Timeout);

        await harness.AdvanceKeepingTheLeaseAsync(Id, Limit * 10);
        release.SetResult();

        Assert.Equal("done", await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
    }

    [Fact]
    public async Task HeartbeatTimeout_WhileTheStepRuns_LeaseIsKeptAtMostTheTimeoutAheadAndRenewedThenRestored()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var inStep = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseStep = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var afterStep = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseRun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lease = TimeSpan.FromSeconds(60);
        var runtime = await harness.StartAsync(
            r => r.Register<int, int>("leased", async (ctx, _) =>
            {
                await ctx.StepAsync("beating", async step =>
                {
                    inStep.SetResult();
                    await releaseStep.Task;
                    return 1;
                }, new StepOptions { HeartbeatTimeout = Limit });
                return await ctx.StepAsync("plain", async _ =>
                {
                    afterStep.SetResult();
                    await releaseRun.Task;
                    return 2;
                });
            }),
            o => new DurableRuntimeOptions { WorkerId = o.WorkerId, TimeProvider = o.TimeProvider, PollInterval = TimeSpan.FromMinutes(10), DefaultRetry = o.DefaultRetry, LeaseDuration = lease });
        await runtime.Client.StartAsync("leased", 0, new StartRunOptions { RunId = Id });
        await inStep.Task.WaitAsync(RuntimeHarness.Timeout);

        // The step's start renews the lease at once, to the heartbeat timeout instead of the 60 s lease.
        var shortened = await WaitForLeaseAsync(harness, e => e <= harness.Clock!.GetUtcNow() + Limit);
        Assert.Equal(harness.Clock!.GetUtcNow() + Limit, shortened);

        // Renewed every third of the timeout, always ahead of the clock and never more than the timeout ahead.
        for (var i = 0; i < 5; i++)
        {
            var previous = (await harness.Store.GetRunAsync(Id))!.LeaseExpiresAt!.Value;
            var renewed = await WaitForLeaseAsync(harness, e => e > previous, nudge: TimeSpan.FromMilliseconds(200));
            Assert.True(renewed > harness.Clock.GetUtcNow(), "the lease lapsed while the heartbeat step ran");
            Assert.True(renewed <= harness.Clock.GetUtcNow() + Limit, $"the lease is {renewed - harness.Clock.GetUtcNow()} ahead; the heartbeat timeout is {Limit}");
        }

        // When the step ends, the lease is the runtime's again.
        releaseStep.SetResult();
        await afterStep.Task.WaitAsync(RuntimeHarness.Timeout);
        var restored = await WaitForLeaseAsync(harness, e => e > harness.Clock.GetUtcNow() + Limit);
        Assert.Equal(harness.Clock.GetUtcNow() + lease, restored);
        releaseRun.SetResult();
        Assert.Equal(2, await runtime.Client.GetResultAsync<int>(Id, RuntimeHarness.Timeout));
    }

    [Fact]
    public async Task CancelAsync_ThroughTheRuntimesClient_CancelsTheRunningStepsToken()
    {
        await using var harness = new RuntimeHarness();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tokenCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runtime = await harness.StartAsync(r => Register(r, started, tokenCancelled));
        await runtime.Client.StartAsync("waits", 0, new StartRunOptions { RunId = Id });
        await started.Task.WaitAsync(RuntimeHarness.Timeout);

        await runtime.Client.CancelAsync(new CancelRequest(Id) { Reason = "user pressed stop" });

        await tokenCancelled.Task.WaitAsync(RuntimeHarness.Timeout);
        var run = await harness.WaitForStatusAsync(Id, s => s == RunStatus.Cancelled);
        Assert.Equal("user pressed stop", (await harness.Store.ReadAsync(Id)).OfType<RunCancelled>().Single().Reason);
        Assert.Equal(RunStatus.Cancelled, run.Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CancelAsync_ByAClientThatIsNotTheWorkers_ReachesTheRunningStepsTokenAtTheNextLeaseRenewal(bool heartbeat)
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tokenCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lease = TimeSpan.FromSeconds(30);
        var runtime = await harness.StartAsync(
            r => Register(r, started, tokenCancelled, heartbeat ? Limit : null),
            o => new DurableRuntimeOptions { WorkerId = o.WorkerId, TimeProvider = o.TimeProvider, PollInterval = TimeSpan.FromMinutes(10), DefaultRetry = o.DefaultRetry, LeaseDuration = lease });
        await runtime.Client.StartAsync("waits", 0, new StartRunOptions { RunId = Id });
        await started.Task.WaitAsync(RuntimeHarness.Timeout);

        // A client over the same store, as in a web app or the CLI: it cannot reach into the worker, only write the cancel.
        var other = new DurableClient(harness.Store, new DurableClientOptions { TimeProvider = harness.Clock! });
        await other.CancelAsync(new CancelRequest(Id) { Reason = "from the dashboard" });
        if (!heartbeat)
        {
            // (A heartbeat step's start renews the lease at once, and that renewal may find the cancel already.)
            await Task.Delay(200);
            Assert.False(tokenCancelled.Task.IsCompleted);
        }

        // The worker looks for a cancel each time it renews the lease: a third of the lease, or of the heartbeat timeout.
        var renewal = (heartbeat ? Limit : lease) / 3;
        var moved = TimeSpan.Zero;
        while (!tokenCancelled.Task.IsCompleted)
        {
            Assert.True(moved <= renewal * 2, $"the token was not cancelled {moved} after the cancel; renewals are every {renewal}");
            harness.Clock!.Advance(TimeSpan.FromMilliseconds(250));
            moved += TimeSpan.FromMilliseconds(250);
            await Task.WhenAny(tokenCancelled.Task, Task.Delay(20));
        }

        Assert.True(heartbeat || moved >= renewal - TimeSpan.FromMilliseconds(250), $"cancelled after {moved}, before the first renewal at {renewal}");
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Cancelled);
        Assert.Equal("from the dashboard", (await harness.Store.ReadAsync(Id)).OfType<RunCancelled>().Single().Reason);
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(null, 500)]
    public async Task StepAsync_TimeoutOutOfRange_FailsTheRunNamingTheOption(int? startToCloseMs, int? heartbeatMs)
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<int, int>("bad", async (ctx, _) => await ctx.StepAsync("s", _ => Task.FromResult(1), new StepOptions
        {
            StartToCloseTimeout = startToCloseMs is { } s ? TimeSpan.FromMilliseconds(s) : null,
            HeartbeatTimeout = heartbeatMs is { } h ? TimeSpan.FromMilliseconds(h) : null,
        })));
        await runtime.Client.StartAsync("bad", 0, new StartRunOptions { RunId = Id });

        var failure = await Assert.ThrowsAsync<RunFailedException>(() => runtime.Client.GetResultAsync<int>(Id, RuntimeHarness.Timeout));

        Assert.Contains(nameof(ArgumentOutOfRangeException), failure.Message, StringComparison.Ordinal);
        Assert.Contains(startToCloseMs is null ? "HeartbeatTimeout of 00:00:00.5000000; it must be at least 00:00:01" : "StartToCloseTimeout of 00:00:00; it must be positive", failure.Message, StringComparison.Ordinal);
    }

    private static void Register(DurableRuntime runtime, TaskCompletionSource started, TaskCompletionSource tokenCancelled, TimeSpan? heartbeat = null)
        => runtime.Register<int, string>("waits", async (ctx, _) => await ctx.StepAsync("long-call", async step =>
        {
            using var registration = step.CancellationToken.Register(tokenCancelled.SetResult);
            started.SetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, step.CancellationToken);
            return "never";
        }, new StepOptions { HeartbeatTimeout = heartbeat }));

    // Waits (moving the fake clock on by `nudge` each round, when given) until the run's lease expiry satisfies the condition.
    private static async Task<DateTimeOffset> WaitForLeaseAsync(RuntimeHarness harness, Func<DateTimeOffset, bool> condition, TimeSpan? nudge = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            if ((await harness.Store.GetRunAsync(Id))?.LeaseExpiresAt is { } expires && condition(expires))
            {
                return expires;
            }

            Assert.True(DateTime.UtcNow < deadline, "the lease never reached the expected expiry");
            if (nudge is { } by)
            {
                harness.Clock!.Advance(by);
            }

            await Task.Delay(10);
        }
    }
}
