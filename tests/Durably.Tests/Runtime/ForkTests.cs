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
            var plan = await ctx.StepAsync("plan", _ => Task.FromResult(Call(calls, "plan", "plan")), StepOptions.Model);
            var draft = await ctx.StepAsync("draft", _ => Task.FromResult(Call(calls, "draft", $"draft[{prompt}]")), StepOptions.Model);
            var sent = await ctx.StepAsync("send", _ => Task.FromResult(Call(calls, "send", "sent")), StepOptions.IdempotentEffect);
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
    public async Task Fork_ReuseModelOutputsAndDryRun_CallsNeitherModelNorTools()
    {
        var (harness, calls) = await SourceRunAsync();
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => Register(r, calls, "v2"));

        var fork = await runtime.Client.ForkAsync(new ForkRequest(Source, 0) { ReuseModelOutputs = true, DryRun = true });

        Assert.Equal("plan|draft[v1]|sent", await fork.GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Equal((1, 1, 1), (calls["plan"], calls["draft"], calls["send"]));
        var resolvedBy = (await harness.Store.ReadAsync(fork.RunId)).OfType<StepCompleted>().Select(c => c.ResolvedBy);
        Assert.Equal(["fork-cache:fork-source", "fork-cache:fork-source", "dry-run:fork-source"], resolvedBy);
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
