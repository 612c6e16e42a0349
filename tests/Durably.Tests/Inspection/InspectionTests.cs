using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;
using Durably.Tests.Runtime;

namespace Durably.Tests.Inspection;

public sealed class InspectionTests
{
    private static readonly RunId Id = new("inspected");

    [Fact]
    public async Task Timeline_RunResumedTwice_CountsReplaysTokensAndApprover()
    {
        await using var harness = new RuntimeHarness();
        void Register(DurableRuntime r) => r.Register<int, string>("agent", async (ctx, _) =>
        {
            await ctx.StepAsync("plan", step =>
            {
                step.ReportUsage(new TokenUsage(100, 20));
                return Task.FromResult("p");
            }, StepOptions.Model);
            await ctx.StepAsync("search", _ => Task.FromResult("s"), StepOptions.IdempotentEffect);
            await ctx.WaitForSignalAsync<int>("first");
            var decision = await ctx.WaitForApprovalAsync("publish");
            return decision.Approver!;
        });
        var runtime = await harness.StartAsync(Register);
        await runtime.Client.StartAsync("agent", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        var waiting = await RunTimeline.LoadAsync(harness.Store, Id);
        Assert.Equal(StepState.Waiting, waiting.Steps[^1].State);
        Assert.Equal("first", waiting.Steps[^1].Name);

        await runtime.Client.SignalAsync(Id, "first", 1);
        await harness.WaitForDetailAsync(Id, "approval:publish");
        await runtime.Client.ApproveAsync(new ApprovalRequest(Id, "publish", "maria") { Comment = "ok" });
        await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout);

        var timeline = await RunTimeline.LoadAsync(harness.Store, Id);
        Assert.Equal(RunStatus.Completed, timeline.Status);
        Assert.Equal("\"maria\"", timeline.Result!.ToJsonString());
        Assert.Equal(["plan", "search", "first", "approval:publish"], timeline.Steps.Select(s => s.Name));
        var dump = string.Join("\n", (await harness.Store.ReadAsync(Id)).Select(e => System.Text.Encoding.UTF8.GetString(JournalSerializer.Serialize(e))));
        Assert.True(timeline.Steps.Select(s => s.ReplayCount).SequenceEqual([2, 2, 1, 0]), dump);
        Assert.Equal(2, timeline.Resumptions);
        Assert.Equal(new TokenUsage(100, 20), timeline.TokensSpent);
        Assert.Equal(new TokenUsage(200, 40), timeline.TokensSaved);
        Assert.Equal("maria", timeline.Steps[3].Sender);
        Assert.Equal($"{Id}:2", timeline.Steps[1].IdempotencyKey);
    }

    [Fact]
    public async Task PendingApprovals_RunWaitingAtGate_ListsGateUntilDecided()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r =>
        {
            r.Register<int, bool>("gated", async (ctx, _) =>
            {
                await ctx.StepAsync("draft", _ => Task.FromResult(1));
                return (await ctx.WaitForApprovalAsync("publish", TimeSpan.FromHours(1))).Approved;
            });
            r.Register<int, int>("plain", async (ctx, _) => await ctx.WaitForSignalAsync<int>("approval-ish"));
        });
        await runtime.Client.StartAsync("gated", 0, new StartRunOptions { RunId = Id });
        await runtime.Client.StartAsync("plain", 0, new StartRunOptions { RunId = new RunId("plain") });
        await harness.WaitForDetailAsync(Id, "approval:publish");
        await harness.WaitForStatusAsync(new RunId("plain"), s => s == RunStatus.Suspended);

        var pending = Assert.Single(await PendingApproval.ListAsync(harness.Store));

        Assert.Equal((Id, "gated", "publish", 2), (pending.RunId, pending.Workflow, pending.Gate, pending.Step));
        Assert.NotNull(pending.TimeoutAt);
        Assert.Empty(await PendingApproval.ListAsync(harness.Store, workflow: "plain"));
        await runtime.Client.ApproveAsync(new ApprovalRequest(Id, "publish", "maria") { Comment = "ship it" });
        Assert.True(await runtime.Client.GetResultAsync<bool>(Id, RuntimeHarness.Timeout));
        Assert.Empty(await PendingApproval.ListAsync(harness.Store));
        var wait = (await RunTimeline.LoadAsync(harness.Store, Id)).Steps[1];
        Assert.Equal("publish", wait.ApprovalGate);
        Assert.Equal(new ApprovalDecision(true, "maria", "ship it"), wait.Decision);
    }

    [Fact]
    public async Task Verify_SoundStore_ReportsNoProblem()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<int, int>("one", async (ctx, _) => await ctx.StepAsync("a", _ => Task.FromResult(1))));
        await (await runtime.Client.StartAsync("one", 0)).GetResultAsync<int>(RuntimeHarness.Timeout);
        await (await runtime.Client.StartAsync("one", 0)).GetResultAsync<int>(RuntimeHarness.Timeout);

        var report = await JournalVerifier.VerifyAsync(harness.Store);

        Assert.True(report.IsSound, string.Join("; ", report.Problems));
        Assert.Equal(2, report.Runs);
        Assert.Equal(8, report.Entries);
    }

    [Fact]
    public void Check_OutcomeWithoutIntentAndGap_ReportsBoth()
    {
        var run = new RunRecord { RunId = Id, Workflow = "w", Status = RunStatus.Running, CreatedAt = default, UpdatedAt = default, NextSequence = 3 };
        JournalEntry[] journal =
        [
            new RunStarted { Sequence = 0, Workflow = "w" },
            new StepCompleted { Sequence = 1, Step = 1 },
            new TimerFired { Sequence = 3, Step = 2 },
        ];

        var problems = JournalVerifier.Check(run, journal).Select(p => p.Message).ToList();

        Assert.Contains("step 1 has an outcome without an intent", problems);
        Assert.Contains(problems, p => p.Contains("sequence 3", StringComparison.Ordinal));
        Assert.Contains("timer step 2 fired without being started", problems);
    }
}
