using Durably.Journal;
using Durably.Storage;
using Durably.Testing;
using Xunit.Sdk;

namespace Durably.Tests.Testing;

public sealed class CrashTesterTests
{
    private static readonly SupportRequest Request = new("ana", "my invoice is wrong");

    [Fact]
    public async Task AssertReplaySafeAsync_SupportAgent_EveryCrashPointPasses()
    {
        var report = await CrashTester.For(SupportAgent.Name, Request, () => new FakeOutside(), SupportAgent.Register).AssertReplaySafeAsync();

        Assert.Equal(RunStatus.Completed, report.ReferenceStatus);
        Assert.Contains("\"replied\":true", report.ReferenceOutcome, StringComparison.Ordinal);
        var kinds = report.Points.Select(p => p.Point.Kind).ToList();
        Assert.Equal(CrashPointKind.FinishedJournalReplay, kinds[0]);
        Assert.Contains(CrashPointKind.AfterRunStarted, kinds);
        Assert.Equal(3, kinds.Count(k => k == CrashPointKind.InDoubt));
        Assert.Contains(report.Points, p => p.Point is { Kind: CrashPointKind.AfterStep, StepName: "plan", StepKind: StepKind.Model });
        Assert.Contains(report.Points, p => p.Point is { Kind: CrashPointKind.AfterWaitStarted, StepName: "approval:send-reply" });
        Assert.Contains(report.Points, p => p.Point is { Kind: CrashPointKind.AfterWaitEnded, StepName: "wait-a-day" });
        Assert.All(report.Points.Skip(1), p => Assert.NotNull(p.RecoveryTime));
        Assert.All(report.Points.Where(p => p.Point.Kind == CrashPointKind.InDoubt), p => Assert.Single(p.InDoubtReruns));
        Assert.All(report.Points.Where(p => p.Point.Kind != CrashPointKind.InDoubt), p => Assert.Empty(p.InDoubtReruns));
        Assert.DoesNotContain("FAIL", report.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AssertReplaySafeAsync_WorkflowCallingGuidNewGuid_FailsPointingToCtxNewGuid()
    {
        var payments = new FakeOutside();

        var ex = await Assert.ThrowsAsync<XunitException>(() => CrashTester.For(() => new CheckoutWithNewGuid(payments), 10m).AssertReplaySafeAsync());

        Assert.Contains("Crash test of workflow 'checkout'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("DIFFERENT", ex.Message, StringComparison.Ordinal);
        Assert.Contains("They first differ at $.orderId", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Guid.NewGuid() outside a step; use ctx.NewGuid()", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WorkflowOrderingStepsByWallClock_ReportsNonDeterminismWithBothStepNames()
    {
        var report = await CrashTester.For(ShipOrderByWallClock.Name, "order-7", () => new FakeOutside(), ShipOrderByWallClock.Register).RunAsync();

        Assert.False(report.Passed);
        var replay = report.Points[0];
        Assert.False(replay.Passed);
        Assert.Equal(new NonDeterminismInfo(2, "effect step 'notify-delay'", "effect step 'charge-card'", replay.NonDeterminism!.Message), replay.NonDeterminism);
        var afterNotify = report.Points.Single(p => p.Point is { Kind: CrashPointKind.AfterStep, StepName: "notify-delay" });
        Assert.Equal(2, afterNotify.NonDeterminism?.Step);
        Assert.Contains("STEP 2 DIFFERS", report.ToString(), StringComparison.Ordinal);
        var text = report.ToString();
        Assert.Contains("STEP 2 DIFFERS", text, StringComparison.Ordinal);
        Assert.Contains("the journal holds effect step 'notify-delay'; the code asked for effect step 'charge-card'", text, StringComparison.Ordinal);
        Assert.Contains("DateTime.UtcNow/Now (use ctx.UtcNow)", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ReconcileThatMissesACompletedEffect_ReportsADuplicateEffect()
    {
        var options = StepOptions.Effect(InDoubtPolicy.Reconcile) with { Reconcile = _ => Task.FromResult(Reconciliation.NotDone) };
        void Register(DurableRuntime runtime, FakeOutside world) => runtime.Register<int, string>("refund", async (ctx, amount) =>
            await ctx.StepAsync("refund", step => world.ApplyAsync($"refund {amount}", step.IdempotencyKey), options));

        var report = await CrashTester.For("refund", 5, () => new FakeOutside(), Register).RunAsync();

        var inDoubt = report.Points.Single(p => p.Point.Kind == CrashPointKind.InDoubt);
        Assert.False(inDoubt.Passed);
        Assert.Equal(new StepRuns(1, "refund", StepKind.Effect, "crash-test:1", 2), Assert.Single(inDoubt.DuplicateEffects));
        Assert.Contains("Reconcile callback answered NotDone", inDoubt.Problem, StringComparison.Ordinal);
        Assert.Contains("DUPLICATE 'refund' x2", report.ToString(), StringComparison.Ordinal);
        Assert.All(report.Points.Where(p => p.Point.Kind != CrashPointKind.InDoubt), p => Assert.True(p.Passed, p.Problem));
    }

    [Fact]
    public async Task AssertReplaySafeAsync_WorkflowWithChildRuns_PassesAtEveryCrashPoint()
    {
        // One child after the other: the crash points are positions in the parent's journal, and children run in parallel
        // make that journal's layout depend on when each reports (how many activations take the reports).
        static void Register(DurableRuntime runtime, FakeOutside world)
        {
            runtime.Register<string, string>("sub-agent", async (ctx, topic) =>
                await ctx.StepAsync("fetch", step => world.ApplyAsync("fetch " + topic, step.IdempotencyKey), StepOptions.IdempotentEffect));
            runtime.Register<int, string>("lead", async (ctx, _) =>
            {
                string[] notes = [await ctx.RunChildAsync<string, string>("sub-agent", "a"), await ctx.RunChildAsync<string, string>("sub-agent", "b")];
                return await ctx.StepAsync("publish", step => world.ApplyAsync(string.Join(", ", notes), step.IdempotencyKey), StepOptions.IdempotentEffect);
            });
        }

        var report = await CrashTester.For("lead", 0, () => new FakeOutside(), Register).AssertReplaySafeAsync();

        Assert.Equal(RunStatus.Completed, report.ReferenceStatus);
        Assert.Contains("fetch a (crash-test:c1:1), fetch b (crash-test:c2:1)", report.ReferenceOutcome, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_InDoubtPolicyFail_PassesWithTheDeclaredFailure()
    {
        void Register(DurableRuntime runtime, FakeOutside world) => runtime.Register<int, string>("wire", async (ctx, amount) =>
            await ctx.StepAsync("wire", step => world.ApplyAsync($"wire {amount}", step.IdempotencyKey), StepOptions.Effect(InDoubtPolicy.Fail)));

        var report = await CrashTester.For("wire", 5, () => new FakeOutside(), Register).AssertReplaySafeAsync();

        var inDoubt = report.Points.Single(p => p.Point.Kind == CrashPointKind.InDoubt);
        Assert.Equal(RunStatus.Failed, inDoubt.Status);
        Assert.False(inDoubt.OutcomeMatches);
        Assert.Contains("in-doubt policy (Fail)", inDoubt.Note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ModelCallsInsideAPhaseUnderPlanStep_ReportsRepeatedModelSteps()
    {
        static void Register(DurableRuntime runtime, FakeOutside world) => runtime.Register<int, string>("draft", async (ctx, _) =>
            await ctx.PhaseAsync("draft", async () =>
            {
                var text = await ctx.StepAsync("write", _ => Task.FromResult("draft text"), StepOptions.Model);
                return await ctx.StepAsync("save", step => world.ApplyAsync(text, step.IdempotencyKey), StepOptions.IdempotentEffect);
            }));
        var tester = CrashTester.For("draft", 0, () => new FakeOutside(), Register, new CrashTestOptions { Checkpoint = CheckpointPolicy.PlanStep });

        var report = await tester.RunAsync();

        Assert.True(report.Passed, report.ToString());
        var afterSave = report.Points.Single(p => p.Point is { Kind: CrashPointKind.AfterStep, StepName: "save" });
        Assert.Equal("write", Assert.Single(afterSave.RepeatedModelSteps).Name);
        var strict = await CrashTester.For("draft", 0, () => new FakeOutside(), Register, new CrashTestOptions { Checkpoint = CheckpointPolicy.PlanStep, FailOnRepeatedModelSteps = true }).RunAsync();
        Assert.False(strict.Passed);
    }

    [Fact]
    public async Task RunAsync_SignalsAnsweredByCallback_SameOutcomeAtEveryPoint()
    {
        static void Register(DurableRuntime runtime) => runtime.Register<string, string>("greet", async (ctx, name) =>
        {
            var greeting = await ctx.WaitForSignalAsync<string>("greeting");
            var approval = await ctx.WaitForApprovalAsync("publish");
            return $"{greeting}, {name} ({(approval.Approved ? "approved" : "rejected")} by {approval.Approver})";
        });
        var options = new CrashTestOptions
        {
            Signals = request => request.Gate is null ? SignalReply.Send("Hello") : SignalReply.Reject(approver: "ops"),
        };

        var report = await CrashTester.For("greet", "Ana", Register, options).AssertReplaySafeAsync();

        Assert.Equal("\"Hello, Ana (rejected by ops)\"", report.ReferenceOutcome);
    }

    [Fact]
    public async Task RunAsync_WaitsWithTimeouts_AnsweredSignalArrivesInTimeAndUnansweredOneTimesOutOnTheFakeClock()
    {
        static void Register(DurableRuntime runtime) => runtime.Register<int, string>("deadline", async (ctx, _) =>
        {
            var answer = await ctx.WaitForSignalAsync<string>("answered", TimeSpan.FromHours(1));
            try
            {
                await ctx.WaitForSignalAsync<string>("silent", TimeSpan.FromDays(2));
                return "not expected";
            }
            catch (TimeoutException)
            {
                return $"{answer}, then timed out";
            }
        });
        var options = new CrashTestOptions { Signals = r => r.Name == "answered" ? SignalReply.Send("yes") : null };

        var report = await CrashTester.For("deadline", 0, Register, options).AssertReplaySafeAsync();

        Assert.Equal("\"yes, then timed out\"", report.ReferenceOutcome);
    }

    [Fact]
    public async Task RunAsync_SignalNobodyAnswers_ThrowsSayingWhichSignalAndWhatToSet()
    {
        var tester = CrashTester.For("wait", 0, r => r.Register<int, int>("wait", async (ctx, _) => await ctx.WaitForSignalAsync<int>("go")), new CrashTestOptions { Timeout = TimeSpan.FromSeconds(1) });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => tester.RunAsync());

        Assert.Contains("waits for the signal 'go'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CrashTestOptions.Signals", ex.Message, StringComparison.Ordinal);
    }
}
