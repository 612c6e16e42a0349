using System.Collections.Concurrent;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Tests.Runtime;

public sealed class ForkTests
{
    private static readonly RunId Source = new("fork-source");

    private static void Register(DurableRuntime runtime, ConcurrentDictionary<string, int> calls, string prompt)
        => runtime.Register<int, string>("agent", async (ctx, _) =>
        {
            // Each model step identifies its request by its arguments, as DurableChatClient does with its messages.
            var plan = await ctx.StepAsync("plan", _ => Task.FromResult(Call(calls, "plan", "plan")), StepOptions.Model with { Arguments = "plan the report" });
            var draft = await ctx.StepAsync("draft", _ => Task.FromResult(Call(calls, "draft", $"draft[{prompt}]")), StepOptions.Model with { Arguments = "draft " + prompt });
            var sent = await ctx.StepAsync("send", _ => Task.FromResult(Call(calls, "send", "sent")), StepOptions.IdempotentEffect with { Arguments = draft });
            return $"{plan}|{draft}|{sent}";
        });

    private static string Call(ConcurrentDictionary<string, int> calls, string name, string value)
    {
        calls.AddOrUpdate(name, 1, (_, c) => c + 1);
        return value;
    }

    private static async Task<(RuntimeHarness Harness, ConcurrentDictionary<string, int> Calls)> SourceRunAsync()
    {
        var harness = new RuntimeHarness();
        var calls = new ConcurrentDictionary<string, int>();
        var runtime = await harness.StartAsync(r => Register(r, calls, "v1"));
        await (await runtime.Client.StartAsync("agent", 0, new StartRunOptions { RunId = Source })).GetResultAsync<string>(RuntimeHarness.Timeout);
        await runtime.DisposeAsync();
        return (harness, calls);
    }

    [Fact]
    public async Task Fork_AtStep1_KeepsStep1AndReExecutesTheRest()
    {
        var (harness, calls) = await SourceRunAsync();
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => Register(r, calls, "v2"));

        var fork = await runtime.Client.ForkAsync(new ForkRequest(Source, 1) { NewRunId = new RunId("fork-1") });

        Assert.Equal("plan|draft[v2]|sent", await fork.GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Equal((1, 2, 2), (calls["plan"], calls["draft"], calls["send"]));
        var started = (RunStarted)(await harness.Store.ReadAsync(new RunId("fork-1")))[0];
        Assert.Equal((Source, 1), (started.Fork!.Source, started.Fork.AtStep));
    }

    [Fact]
    public async Task Fork_ReuseModelOutputsAndDryRunSameRequests_CallsNeitherModelNorTools()
    {
        var (harness, calls) = await SourceRunAsync();
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => Register(r, calls, "v1"));

        var fork = await runtime.Client.ForkAsync(new ForkRequest(Source, 0) { ReuseModelOutputs = true, DryRun = true });

        Assert.Equal("plan|draft[v1]|sent", await fork.GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Equal((1, 1, 1), (calls["plan"], calls["draft"], calls["send"]));
        var resolvedBy = (await harness.Store.ReadAsync(fork.RunId)).OfType<StepCompleted>().Select(c => c.ResolvedBy);
        Assert.Equal(["fork-cache:fork-source", "fork-cache:fork-source", "dry-run:fork-source"], resolvedBy);
        var timeline = await runtime.Client.GetTimelineAsync(fork.RunId);
        Assert.Equal([true, true, false], timeline.Steps.Select(s => s.CacheHit));
    }

    [Fact]
    public async Task Fork_ReuseModelOutputsWithChangedPrompt_CallsTheModelForTheChangedRequestOnly()
    {
        var (harness, calls) = await SourceRunAsync();
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => Register(r, calls, "v2"));

        var fork = await runtime.Client.ForkAsync(new ForkRequest(Source, 0) { ReuseModelOutputs = true });

        // The draft's request changed: the fork must not get the old answer back.
        Assert.Equal("plan|draft[v2]|sent", await fork.GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Equal((1, 2, 2), (calls["plan"], calls["draft"], calls["send"]));
        var timeline = await runtime.Client.GetTimelineAsync(fork.RunId);
        Assert.Equal([true, false, false], timeline.Steps.Select(s => s.CacheHit));
    }

    [Fact]
    public async Task Fork_ReuseModelOutputsRequestMovedToAnotherStep_IsStillAHit()
    {
        var (harness, calls) = await SourceRunAsync();
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => r.Register<int, string>("agent", async (ctx, _) =>
        {
            // A new first step shifts every step number; the plan request is the same and is answered from the source.
            var extra = await ctx.StepAsync("think", _ => Task.FromResult(Call(calls, "think", "hmm")), StepOptions.Model with { Arguments = "think first" });
            var plan = await ctx.StepAsync("plan", _ => Task.FromResult(Call(calls, "plan", "plan")), StepOptions.Model with { Arguments = "plan the report" });
            return $"{extra}|{plan}";
        }));

        var fork = await runtime.Client.ForkAsync(new ForkRequest(Source, 0) { ReuseModelOutputs = true });

        Assert.Equal("hmm|plan", await fork.GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Equal((1, 1), (calls["think"], calls["plan"]));
    }

    [Fact]
    public async Task Fork_ModelStepWithoutArguments_IsNeverACacheHit()
    {
        var (harness, calls) = await SourceRunAsync();
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => r.Register<int, string>("agent", async (ctx, _) =>
            await ctx.StepAsync("plan", _ => Task.FromResult(Call(calls, "plan", "new plan")), StepOptions.Model)));

        var fork = await runtime.Client.ForkAsync(new ForkRequest(Source, 0) { ReuseModelOutputs = true });

        Assert.Equal("new plan", await fork.GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Equal(2, calls["plan"]);
    }

    [Fact]
    public async Task Fork_DryRunEffectWithChangedArguments_FailsLoudly()
    {
        var (harness, calls) = await SourceRunAsync();
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => Register(r, calls, "v2"));

        // The draft runs again with the new prompt, so the send that follows has other arguments than the recorded one.
        var fork = await runtime.Client.ForkAsync(new ForkRequest(Source, 1) { DryRun = true });

        var ex = await Assert.ThrowsAsync<RunFailedException>(() => fork.GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Contains("other arguments", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, calls["send"]);
    }

    [Fact]
    public async Task Fork_DryRunEffectWithoutRecordedResult_FailsLoudly()
    {
        var (harness, calls) = await SourceRunAsync();
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => r.Register<int, string>("agent", async (ctx, _) =>
        {
            await ctx.StepAsync("plan", _ => Task.FromResult("plan"), StepOptions.Model);
            return await ctx.StepAsync("post-to-slack", _ => Task.FromResult(Call(calls, "slack", "posted")), StepOptions.IdempotentEffect);
        }));

        var fork = await runtime.Client.ForkAsync(new ForkRequest(Source, 1) { DryRun = true });

        var ex = await Assert.ThrowsAsync<RunFailedException>(() => fork.GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Contains("dry-run fork", ex.Message, StringComparison.Ordinal);
        Assert.False(calls.ContainsKey("slack"));
    }

    [Fact]
    public async Task Fork_UnknownSource_ThrowsRunNotFound()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(_ => { });
        await Assert.ThrowsAsync<RunNotFoundException>(() => runtime.Client.ForkAsync(new ForkRequest(new RunId("nope"), 1)));
    }
}
