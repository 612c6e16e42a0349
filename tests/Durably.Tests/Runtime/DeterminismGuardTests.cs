namespace Durably.Tests.Runtime;

// Workflow code that uses the run context from inside a step body would diverge on replay: it is stopped at once.
public sealed class DeterminismGuardTests
{
    private static readonly RunId Id = new("guard-run");

    [Theory]
    [InlineData("UtcNow")]
    [InlineData("NewGuid()")]
    [InlineData("Random")]
    [InlineData("StepAsync")]
    [InlineData("SleepAsync")]
    public async Task RunContext_UsedInsideAStepBody_FailsTheRunNamingTheMemberAndTheStep(string member)
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<int, string>("guarded", async (ctx, _) =>
            await ctx.StepAsync("stamp", async _ => member switch
            {
                "UtcNow" => ctx.UtcNow.ToString("O"),
                "NewGuid()" => ctx.NewGuid().ToString(),
                "Random" => ctx.Random.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
                "StepAsync" => await ctx.StepAsync("nested", _ => Task.FromResult("x")),
                _ => await ctx.SleepAsync(TimeSpan.FromSeconds(1)).ContinueWith(_ => "slept", TaskScheduler.Default),
            })));
        await runtime.Client.StartAsync("guarded", 0, new StartRunOptions { RunId = Id });

        var ex = await Assert.ThrowsAsync<RunFailedException>(() => runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));

        Assert.Contains($"ctx.{member} was used inside the body of step 'stamp'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunContext_ValuesReadBeforeTheStep_MayBePassedIntoItsBody()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<int, string>("fine", async (ctx, _) =>
        {
            var id = ctx.NewGuid();
            var logged = await ctx.StepAsync("use", step =>
            {
                ctx.Logger.GetHashCode();
                return Task.FromResult($"{id} in {ctx.RunId}");
            });
            return logged;
        }));
        await runtime.Client.StartAsync("fine", 0, new StartRunOptions { RunId = Id });

        Assert.EndsWith(" in guard-run", await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout), StringComparison.Ordinal);
    }
}
