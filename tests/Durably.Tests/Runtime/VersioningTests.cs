using Durably.Storage;

namespace Durably.Tests.Runtime;

public sealed class VersioningTests
{
    [Fact]
    public async Task IsPatched_OldRunInFlight_KeepsOldPathWhileNewRunsTakeNewPath()
    {
        await using var harness = new RuntimeHarness();
        var oldRun = new RunId("started-before-change");
        var first = await harness.StartAsync(r => r.Register<int, string>("flow", async (ctx, _) =>
        {
            await ctx.WaitForSignalAsync<int>("go");
            return await ctx.StepAsync("search-v1", _ => Task.FromResult("v1"));
        }));
        await first.Client.StartAsync("flow", 0, new StartRunOptions { RunId = oldRun });
        await harness.WaitForStatusAsync(oldRun, s => s == RunStatus.Suspended);
        await first.DisposeAsync();

        var second = await harness.StartAsync(r => r.Register<int, string>("flow", async (ctx, _) =>
        {
            await ctx.WaitForSignalAsync<int>("go");
            return ctx.IsPatched("new-search")
                ? await ctx.StepAsync("search-v2", _ => Task.FromResult($"v2 (version {ctx.WorkflowVersion})"))
                : await ctx.StepAsync("search-v1", _ => Task.FromResult("v1"));
        }, new WorkflowOptions { Version = 2, Patches = ["new-search"] }));
        var newRun = (await second.Client.StartAsync("flow", 0)).RunId;
        await second.Client.SignalAsync(oldRun, "go", 1);
        await second.Client.SignalAsync(newRun, "go", 1);

        Assert.Equal("v1", await second.Client.GetResultAsync<string>(oldRun, RuntimeHarness.Timeout));
        Assert.Equal("v2 (version 2)", await second.Client.GetResultAsync<string>(newRun, RuntimeHarness.Timeout));
    }

    [Fact]
    public async Task ClassWorkflow_NewInstancePerExecution_RunsAndReplays()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register(() => new CountingWorkflow()));

        var result = await (await runtime.Client.StartAsync(nameof(CountingWorkflow), 3)).GetResultAsync<int>(RuntimeHarness.Timeout);

        Assert.Equal(6, result);
    }

    private sealed class CountingWorkflow : Workflow<int, int>
    {
        public override async Task<int> RunAsync(RunContext context, int input)
        {
            var sum = 0;
            for (var i = 1; i <= input; i++)
            {
                var value = i;
                sum += await context.StepAsync($"n{i}", _ => Task.FromResult(value));
            }

            return sum;
        }
    }
}
