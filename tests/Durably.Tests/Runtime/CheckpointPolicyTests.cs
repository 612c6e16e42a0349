using System.Collections.Concurrent;
using Durably.Journal;

namespace Durably.Tests.Runtime;

public sealed class CheckpointPolicyTests
{
    private static readonly RunId Id = new("policy-run");

    [Theory]
    [InlineData(CheckpointPolicy.EveryStep, "")]
    [InlineData(CheckpointPolicy.PlanStep, "compute-1,model-1,slow-compute,fast-compute")]
    [InlineData(CheckpointPolicy.DecisionPoint, "compute-1,slow-compute,fast-compute")]
    [InlineData(CheckpointPolicy.Adaptive, "compute-1,fast-compute")]
    public async Task Crash_AfterLastStep_RerunsExactlyTheStepsThePolicyDidNotJournal(CheckpointPolicy policy, string expectedReruns)
    {
        await using var harness = new RuntimeHarness();
        var runs = new ConcurrentDictionary<string, int>();
        Task<int> Body(string name, int delayMs = 0) => Count(runs, name, delayMs);
        void Register(DurableRuntime r) => r.Register<int, int>("policies", async (ctx, _) =>
        {
            var total = await ctx.PhaseAsync("plan", async () =>
                await ctx.StepAsync("think", _ => Body("think")) + await ctx.StepAsync("ask-model", _ => Body("ask-model"), StepOptions.Model));
            total += await ctx.StepAsync("compute-1", _ => Body("compute-1"));
            total += await ctx.StepAsync("model-1", _ => Body("model-1"), StepOptions.Model);
            total += await ctx.DecideAsync("decide", _ => Body("decide"));
            total += await ctx.StepAsync("send", _ => Body("send"), StepOptions.IdempotentEffect);
            total += await ctx.StepAsync("slow-compute", _ => Body("slow-compute", 60));
            total += await ctx.StepAsync("fast-compute", _ => Body("fast-compute"));
            return total;
        }, new WorkflowOptions { Checkpoint = policy });

        harness.Store.CrashWhen(a => a.Entries.OfType<RunCompleted>().Any());
        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("policies", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, _ => harness.Store.Crashed);
        await harness.CrashAsync(first);
        var before = new Dictionary<string, int>(runs);

        var second = await harness.StartAsync(Register);
        Assert.Equal(8, await second.Client.GetResultAsync<int>(Id, RuntimeHarness.Timeout));

        var reruns = runs.Where(kv => kv.Value > before[kv.Key]).Select(kv => kv.Key).ToHashSet();
        string[] order = ["think", "ask-model", "compute-1", "model-1", "decide", "send", "slow-compute", "fast-compute"];
        Assert.Equal(expectedReruns, string.Join(",", order.Where(reruns.Contains)));
        Assert.Equal(1, runs["send"]);
    }

    [Fact]
    public async Task EffectStep_UnderEveryPolicyOverride_IsAlwaysJournaled()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<int, int>("effect", async (ctx, _) =>
            await ctx.StepAsync("pay", _ => Task.FromResult(1), StepOptions.IdempotentEffect with { Checkpoint = CheckpointPolicy.PlanStep })));

        await (await runtime.Client.StartAsync("effect", 0, new StartRunOptions { RunId = Id })).GetResultAsync<int>(RuntimeHarness.Timeout);

        var entries = await harness.Store.ReadAsync(Id);
        Assert.Single(entries.OfType<StepStarted>(), s => s.Name == "pay");
        Assert.Single(entries.OfType<StepCompleted>());
    }

    private static async Task<int> Count(ConcurrentDictionary<string, int> runs, string name, int delayMs)
    {
        runs.AddOrUpdate(name, 1, (_, c) => c + 1);
        if (delayMs > 0)
        {
            await Task.Delay(delayMs);
        }

        return 1;
    }
}
