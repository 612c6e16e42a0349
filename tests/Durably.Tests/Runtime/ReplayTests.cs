using System.Collections.Concurrent;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Tests.Runtime;

public sealed class ReplayTests
{
    private static readonly RunId Id = new("replay-run");

    [Fact]
    public async Task Recovery_AfterCrash_ReplaysCompletedStepsAndRunsTheRestOnce()
    {
        await using var harness = new RuntimeHarness();
        var executions = new ConcurrentDictionary<string, int>();
        void Register(DurableRuntime runtime) => runtime.Register<int, int>("sum", async (ctx, n) =>
        {
            var total = 0;
            for (var i = 1; i <= n; i++)
            {
                var step = i;
                total += await ctx.StepAsync($"add-{i}", _ =>
                {
                    executions.AddOrUpdate($"add-{step}", 1, (_, c) => c + 1);
                    return Task.FromResult(step);
                });
            }

            return total;
        });

        // The first process dies when it writes step 4's outcome.
        harness.Store.CrashWhen(a => a.Entries.OfType<StepCompleted>().Any(c => c.Step == 4));
        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("sum", 6, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, _ => harness.Store.Crashed);
        await first.StopAsync();
        harness.Store.Revive();
        Assert.Equal(RunStatus.Running, (await harness.Store.GetRunAsync(Id))!.Status);

        var second = await harness.StartAsync(Register);
        var result = await second.Client.GetResultAsync<int>(Id, RuntimeHarness.Timeout);

        Assert.Equal(21, result);
        Assert.Equal("1,1,1,2,1,1", string.Join(",", Enumerable.Range(1, 6).Select(i => executions.GetValueOrDefault($"add-{i}"))));
    }

    [Fact]
    public async Task StartRun_SameIdTwice_ReturnsExistingRunWithoutRunningAgain()
    {
        await using var harness = new RuntimeHarness();
        var bodies = 0;
        var runtime = await harness.StartAsync(r =>
        {
            r.Register<string, string>("echo", async (ctx, s) => await ctx.StepAsync("echo", _ =>
            {
                Interlocked.Increment(ref bodies);
                return Task.FromResult(s + "!");
            }));
            r.Register<int, int>("other", (_, i) => Task.FromResult(i));
        });

        var first = await runtime.Client.StartAsync("echo", "hi", new StartRunOptions { RunId = Id });
        Assert.Equal("hi!", await first.GetResultAsync<string>(RuntimeHarness.Timeout));
        var second = await runtime.Client.StartAsync("echo", "other input", new StartRunOptions { RunId = Id });

        Assert.True(first.IsNew);
        Assert.False(second.IsNew);
        Assert.Equal("hi!", await second.GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Equal(1, bodies);
        await Assert.ThrowsAsync<InvalidOperationException>(() => runtime.Client.StartAsync("other", 1, new StartRunOptions { RunId = Id }));
    }

    [Fact]
    public async Task Step_FailsForGood_ReplaysAsStepFailedExceptionWithOriginalTypeAndMessage()
    {
        await using var harness = new RuntimeHarness();
        var attempts = 0;
        var seen = new List<string>();
        void Register(DurableRuntime runtime) => runtime.Register<int, string>("fails", async (ctx, _) =>
        {
            try
            {
                await ctx.StepAsync<int>("explode", _ =>
                {
                    Interlocked.Increment(ref attempts);
                    throw new TimeoutException("upstream too slow");
                });
            }
            catch (StepFailedException ex)
            {
                lock (seen)
                {
                    seen.Add($"{ex.ErrorType}|{ex.ErrorMessage}|{ex.Step}");
                }
            }

            await ctx.WaitForSignalAsync<string>("go");
            return "handled";
        });

        var runtime = await harness.StartAsync(Register);
        await runtime.Client.StartAsync("fails", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        await runtime.Client.SignalAsync(Id, "go", "now");

        Assert.Equal("handled", await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Equal(1, attempts);
        Assert.Equal(["System.TimeoutException|upstream too slow|1", "System.TimeoutException|upstream too slow|1"], seen);
    }

    [Fact]
    public async Task Replay_CheckRecordedRefusesTheJournaledResult_FailsWithNonDeterminismNamingTheDifference()
    {
        await using var harness = new RuntimeHarness();
        var seen = new List<(object? Value, StepReuse Reuse)>();
        StepOptions Options(string model) => new()
        {
            CheckRecorded = (value, reuse) =>
            {
                seen.Add((value, reuse));
                return value as string == "answer from " + model ? null : new StepMismatch($"answered as '{value}'", $"for model '{model}'");
            },
        };
        void Register(DurableRuntime r, string model) => r.Register<int, string>("flow", async (ctx, _) =>
        {
            var answer = await ctx.StepAsync("ask", _ => Task.FromResult("answer from " + model), Options(model));
            await ctx.WaitForSignalAsync<int>("go");
            return answer;
        });
        var old = await harness.StartAsync(r => Register(r, "a"));
        await old.Client.StartAsync("flow", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        await old.StopAsync();
        var before = (await harness.Store.ReadAsync(Id)).Count;

        var changed = await harness.StartAsync(r => Register(r, "b"));
        await changed.Client.SignalAsync(Id, "go", 5);

        var run = await harness.WaitForStatusAsync(Id, s => s == RunStatus.Failed);
        Assert.Contains("the journal holds compute step 'ask' answered as 'answer from a', but the code asked for the same step for model 'b'", run.StatusDetail, StringComparison.Ordinal);
        Assert.Equal(before, (await harness.Store.ReadAsync(Id)).Count);
        Assert.Equal([("answer from a", StepReuse.Replay)], seen);
    }

    [Fact]
    public async Task Replay_StepRenamedInNewCode_FailsWithNonDeterminismAndLeavesJournalUnchanged()
    {
        await using var harness = new RuntimeHarness();
        var old = await harness.StartAsync(r => r.Register<int, int>("flow", async (ctx, _) =>
        {
            await ctx.StepAsync("fetch", _ => Task.FromResult(1));
            return await ctx.WaitForSignalAsync<int>("go");
        }));
        await old.Client.StartAsync("flow", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        await old.StopAsync();
        var before = (await harness.Store.ReadAsync(Id)).Count;

        var changed = await harness.StartAsync(r => r.Register<int, int>("flow", async (ctx, _) =>
        {
            await ctx.StepAsync("download", _ => Task.FromResult(1));
            return await ctx.WaitForSignalAsync<int>("go");
        }));
        await changed.Client.SignalAsync(Id, "go", 5);

        var run = await harness.WaitForStatusAsync(Id, s => s == RunStatus.Failed);
        Assert.Contains("step 1", run.StatusDetail, StringComparison.Ordinal);
        Assert.Contains("compute step 'fetch'", run.StatusDetail, StringComparison.Ordinal);
        Assert.Contains("compute step 'download'", run.StatusDetail, StringComparison.Ordinal);
        Assert.Equal(before, (await harness.Store.ReadAsync(Id)).Count);
        var ex = await Assert.ThrowsAsync<RunFailedException>(() => changed.Client.GetResultAsync<int>(Id, RuntimeHarness.Timeout));
        Assert.Equal(RunStatus.Failed, ex.Status);

        // Not retried in a loop: the runtime does not claim a failed run again.
        Assert.Empty(await harness.Store.ClaimRunsAsync(new ClaimRequest { Owner = "someone-else" }));
    }

    [Fact]
    public async Task Replay_CodeDropsAJournaledStep_FailsWithNonDeterminism()
    {
        await using var harness = new RuntimeHarness();
        harness.Store.CrashWhen(a => a.Entries.OfType<RunCompleted>().Any());
        var old = await harness.StartAsync(r => r.Register<int, int>("flow", async (ctx, _) =>
        {
            await ctx.StepAsync("a", _ => Task.FromResult(1));
            await ctx.StepAsync("b", _ => Task.FromResult(2));
            return 3;
        }));
        await old.Client.StartAsync("flow", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, _ => harness.Store.Crashed);
        await old.StopAsync();
        harness.Store.Revive();

        var changed = await harness.StartAsync(r => r.Register<int, int>("flow", async (ctx, _) =>
        {
            await ctx.StepAsync("a", _ => Task.FromResult(1));
            return 3;
        }));

        var run = await harness.WaitForStatusAsync(Id, s => s == RunStatus.Failed);
        Assert.Contains("step 2", run.StatusDetail, StringComparison.Ordinal);
        Assert.Contains("'b'", run.StatusDetail, StringComparison.Ordinal);
        _ = changed;
    }

    [Fact]
    public async Task ParallelSteps_OutcomesWrittenInCompletionOrder_ReplayToTheSameResults()
    {
        await using var harness = new RuntimeHarness();
        var bodies = 0;
        void Register(DurableRuntime runtime) => runtime.Register<int, string>("fan-out", async (ctx, _) =>
        {
            // Started in a fixed order, finishing in reverse order: each waits until the next one's outcome is durable.
            var tasks = Enumerable.Range(1, 5).Select(i => ctx.StepAsync($"tool-{i}", async step =>
            {
                Interlocked.Increment(ref bodies);
                while (i < 5 && !harness.Store.HasLogged($"durable:outcome {i + 1}"))
                {
                    await Task.Delay(5);
                }

                return $"{i}:{step.IdempotencyKey}";
            }, StepOptions.IdempotentEffect)).ToArray();
            var results = await Task.WhenAll(tasks);
            await ctx.WaitForSignalAsync<int>("go");
            return string.Join(",", results);
        });

        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("fan-out", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        await first.StopAsync();
        var outcomes = (await harness.Store.ReadAsync(Id)).OfType<StepCompleted>().Select(c => c.Step).ToList();
        Assert.Equal([5, 4, 3, 2, 1], outcomes);

        var second = await harness.StartAsync(Register);
        await second.Client.SignalAsync(Id, "go", 1);

        Assert.Equal("1:replay-run:1,2:replay-run:2,3:replay-run:3,4:replay-run:4,5:replay-run:5", await second.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Equal(5, bodies);
    }

    [Fact]
    public async Task ContextValues_UtcNowGuidRandom_AreTheSameOnReplay()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var observed = new List<string>();
        void Register(DurableRuntime runtime) => runtime.Register<int, string>("values", async (ctx, _) =>
        {
            var value = $"{ctx.UtcNow.ToUnixTimeMilliseconds()}|{ctx.NewGuid()}|{ctx.NewGuid()}|{ctx.Random.Next()}";
            lock (observed)
            {
                observed.Add(value);
            }

            await ctx.WaitForSignalAsync<int>("go");
            return value;
        });

        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("values", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        await first.StopAsync();
        harness.Clock!.Advance(TimeSpan.FromMinutes(5)); // a fresh clock read would now differ

        var second = await harness.StartAsync(Register);
        await second.Client.SignalAsync(Id, "go", 1);
        var result = await second.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout);

        Assert.Equal(2, observed.Count);
        Assert.Equal(observed[0], observed[1]);
        Assert.Equal(observed[0], result);
        var parts = result.Split('|');
        Assert.NotEqual(parts[1], parts[2]);
    }

    [Fact]
    public async Task ReplayingContext_LoggerAndIsReplaying_ReflectReplayState()
    {
        await using var harness = new RuntimeHarness();
        var flags = new List<bool>();
        void Register(DurableRuntime runtime) => runtime.Register<int, int>("flags", async (ctx, _) =>
        {
            await ctx.StepAsync("one", _ => Task.FromResult(1));
            lock (flags)
            {
                flags.Add(ctx.IsReplaying);
            }

            await ctx.WaitForSignalAsync<int>("go");
            lock (flags)
            {
                flags.Add(ctx.IsReplaying);
            }

            return 1;
        });

        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("flags", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        await first.StopAsync();
        var second = await harness.StartAsync(Register);
        await second.Client.SignalAsync(Id, "go", 1);
        await second.Client.GetResultAsync<int>(Id, RuntimeHarness.Timeout);

        // First activation: live after step 1. Second: replaying at step 1 (the wait is journaled), live after the wait.
        Assert.Equal([false, true, false], flags);
    }
}
