using System.Globalization;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Tests.Runtime;

public sealed class WaitTests
{
    private static readonly RunId Id = new("wait-run");

    [Fact]
    public async Task Signal_DeliveredThroughStoreWhileNoRuntimeRuns_RunFinishesOnNextStart()
    {
        await using var harness = new RuntimeHarness();
        static void Register(DurableRuntime r) => r.Register<string, string>("greet", async (ctx, name) =>
        {
            var greeting = await ctx.WaitForSignalAsync<string>("greeting");
            return $"{greeting}, {name}";
        });
        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("greet", "Ana", new StartRunOptions { RunId = Id });
        var suspended = await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        Assert.Contains("'greeting'", suspended.StatusDetail, StringComparison.Ordinal);
        await first.DisposeAsync();

        // No runtime at all: the signal goes into the store alone, as another process would put it there.
        await harness.Store.DeliverSignalAsync(Id, new SignalMessage("greeting", Payload.FromJson("\"Hello\""), "ops"));

        var second = await harness.StartAsync(Register);
        Assert.Equal("Hello, Ana", await second.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        var received = (await harness.Store.ReadAsync(Id)).OfType<SignalReceived>().Single();
        Assert.Equal("ops", received.Sender);
    }

    [Fact]
    public async Task Suspended_Run_HoldsNoLeaseAndNoExecution()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<int, int>("idle", async (ctx, _) => await ctx.WaitForSignalAsync<int>("never")));
        await runtime.Client.StartAsync("idle", 0, new StartRunOptions { RunId = Id });

        var run = await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);

        Assert.Null(run.WakeAt);
        await harness.WaitForLeaseReleasedAsync(Id);
    }

    [Fact]
    public async Task Sleep_WithFakeClock_SuspendsUntilDueThenCompletes()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var runtime = await harness.StartAsync(r => r.Register<int, string>("nap", async (ctx, _) =>
        {
            var before = ctx.UtcNow;
            await ctx.SleepAsync(TimeSpan.FromHours(2));
            return (ctx.UtcNow - before).Ticks.ToString(CultureInfo.InvariantCulture);
        }));
        await runtime.Client.StartAsync("nap", 0, new StartRunOptions { RunId = Id });
        var suspended = await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        Assert.Equal(harness.Clock!.GetUtcNow().AddHours(2), suspended.WakeAt);

        harness.Clock.Advance(TimeSpan.FromMinutes(119));
        Assert.Equal(RunStatus.Suspended, (await harness.Store.GetRunAsync(Id))!.Status);
        var slept = TimeSpan.FromTicks(long.Parse(await harness.AdvanceUntilResultAsync<string>(runtime, Id, TimeSpan.FromMinutes(1)), CultureInfo.InvariantCulture));

        // Two hours by the run's clock: not less, and no more than the harness moved the clock on after the wake time.
        Assert.InRange(slept, TimeSpan.FromHours(2), TimeSpan.FromHours(2) + harness.Nudged);
        Assert.Single((await harness.Store.ReadAsync(Id)).OfType<TimerFired>());
    }

    [Fact]
    public async Task Sleep_AcrossRestart_KeepsTheOriginalDeadline()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        static void Register(DurableRuntime r) => r.Register<int, int>("nap", async (ctx, _) =>
        {
            await ctx.SleepAsync(TimeSpan.FromDays(3));
            return 1;
        });
        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("nap", 0, new StartRunOptions { RunId = Id });
        var due = (await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended)).WakeAt;
        await first.DisposeAsync();

        harness.Clock!.Advance(TimeSpan.FromDays(1));
        var second = await harness.StartAsync(Register);
        Assert.Equal(due, (await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended)).WakeAt);
        Assert.Equal(1, await harness.AdvanceUntilResultAsync<int>(second, Id, TimeSpan.FromDays(2)));
    }

    [Fact]
    public async Task Signal_Timeout_ThrowsTimeoutExceptionAndIsJournaled()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var runtime = await harness.StartAsync(r => r.Register<int, string>("deadline", async (ctx, _) =>
        {
            try
            {
                return await ctx.WaitForSignalAsync<string>("reply", TimeSpan.FromMinutes(30));
            }
            catch (TimeoutException)
            {
                return "no reply";
            }
        }));
        await runtime.Client.StartAsync("deadline", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);

        Assert.Equal("no reply", await harness.AdvanceUntilResultAsync<string>(runtime, Id, TimeSpan.FromMinutes(30)));
        Assert.True((await harness.Store.ReadAsync(Id)).OfType<SignalReceived>().Single().TimedOut);
    }

    [Fact]
    public async Task Approval_RecordsApproverDecisionAndComment()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<int, string>("publish", async (ctx, _) =>
        {
            var decision = await ctx.WaitForApprovalAsync("publish");
            return $"{decision.Approved}|{decision.Approver}|{decision.Comment}";
        }));
        await runtime.Client.StartAsync("publish", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);

        await runtime.Client.ApproveAsync(new ApprovalRequest(Id, "publish", "maria") { Comment = "looks right" });

        Assert.Equal("True|maria|looks right", await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        var journaled = (await harness.Store.ReadAsync(Id)).OfType<SignalReceived>().Single();
        Assert.Equal(("approval:publish", "maria"), (journaled.Name, journaled.Sender));
    }
}
