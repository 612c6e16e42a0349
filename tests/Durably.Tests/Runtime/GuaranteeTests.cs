using Durably.Journal;
using Durably.Storage;

namespace Durably.Tests.Runtime;

public sealed class GuaranteeTests
{
    private static readonly RunId Id = new("guarantee-run");

    [Fact]
    public async Task EffectStep_IntentDurableBeforeBody_OutcomeDurableBeforeNextStep()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<int, int>("ordered", async (ctx, _) =>
        {
            await ctx.StepAsync("pay", _ =>
            {
                harness.Store.Log("body pay");
                return Task.FromResult(1);
            }, StepOptions.IdempotentEffect);
            await ctx.StepAsync("compute", _ =>
            {
                harness.Store.Log("body compute");
                return Task.FromResult(2);
            });
            await ctx.StepAsync("email", _ =>
            {
                harness.Store.Log("body email");
                return Task.FromResult(3);
            }, StepOptions.Effect(InDoubtPolicy.Fail));
            return 0;
        }));

        await (await runtime.Client.StartAsync("ordered", 0, new StartRunOptions { RunId = Id })).GetResultAsync<int>(RuntimeHarness.Timeout);

        Assert.Equal(
        [
            "durable:RunStarted",
            "durable:intent pay", "body pay", "durable:outcome 1",
            "body compute", "durable:intent compute", "durable:outcome 2",
            "durable:intent email", "body email", "durable:outcome 3",
            "durable:RunCompleted",
        ], harness.Store.Events);
    }

    [Fact]
    public async Task IdempotencyKey_SameOnRetryAndAfterRecovery_DerivedFromRunAndStep()
    {
        await using var harness = new RuntimeHarness();
        var keys = new List<(string Key, int Attempt)>();
        void Register(DurableRuntime runtime) => runtime.Register<int, int>("keys", async (ctx, _) =>
        {
            await ctx.StepAsync("first", _ => Task.FromResult(0));
            return await ctx.StepAsync("charge", step =>
            {
                lock (keys)
                {
                    keys.Add((step.IdempotencyKey, step.Attempt));
                }

                return step.Attempt == 1 ? throw new HttpRequestException("503") : Task.FromResult(42);
            }, StepOptions.IdempotentEffect with { Retry = new RetryPolicy { MaxAttempts = 3, InitialDelay = TimeSpan.FromMilliseconds(1), Jitter = 0 } });
        });

        // Die in the in-doubt window of the second attempt: its intent is durable, its outcome is not.
        harness.Store.CrashWhen(a => a.Entries.OfType<StepCompleted>().Any(c => c.Step == 2));
        var first = await harness.StartAsync(Register, o => new DurableRuntimeOptions { WorkerId = o.WorkerId, PollInterval = o.PollInterval, MaxInMemoryWait = TimeSpan.FromSeconds(5) });
        await first.Client.StartAsync("keys", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, _ => harness.Store.Crashed);
        await harness.CrashAsync(first);

        var second = await harness.StartAsync(Register);
        Assert.Equal(42, await second.Client.GetResultAsync<int>(Id, RuntimeHarness.Timeout));

        Assert.Equal([("guarantee-run:2", 1), ("guarantee-run:2", 2), ("guarantee-run:2", 3)], keys);
    }

    [Fact]
    public async Task EffectStep_NonIdempotentWithoutPolicy_ThrowsBeforeRunning()
    {
        await using var harness = new RuntimeHarness();
        var ran = false;
        var runtime = await harness.StartAsync(r => r.Register<int, string>("careless", async (ctx, _) =>
        {
            try
            {
                await ctx.StepAsync("wire-money", _ =>
                {
                    ran = true;
                    return Task.FromResult(1);
                }, new StepOptions { Kind = StepKind.Effect, Idempotent = false });
                return "ran";
            }
            catch (ArgumentException ex)
            {
                return ex.Message;
            }
        }));

        var message = await (await runtime.Client.StartAsync("careless", 0, new StartRunOptions { RunId = Id })).GetResultAsync<string>(RuntimeHarness.Timeout);

        Assert.False(ran);
        Assert.Contains("non-idempotent", message, StringComparison.Ordinal);
        Assert.Contains("StepOptions.InDoubt", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_TransientFailures_EachAttemptJournaledThenSucceeds()
    {
        await using var harness = new RuntimeHarness();
        var attempts = 0;
        var runtime = await harness.StartAsync(r => r.Register<int, int>("flaky", async (ctx, _) =>
            await ctx.StepAsync("call", _ => ++attempts < 3 ? throw new IOException("reset") : Task.FromResult(attempts),
                new StepOptions { Retry = new RetryPolicy { MaxAttempts = 5, InitialDelay = TimeSpan.FromMilliseconds(1), Jitter = 0 } })),
            o => new DurableRuntimeOptions { WorkerId = o.WorkerId, PollInterval = o.PollInterval, MaxInMemoryWait = TimeSpan.FromSeconds(1) });

        Assert.Equal(3, await (await runtime.Client.StartAsync("flaky", 0, new StartRunOptions { RunId = Id })).GetResultAsync<int>(RuntimeHarness.Timeout));

        var failures = (await harness.Store.ReadAsync(Id)).OfType<StepFailed>().ToList();
        Assert.Equal([1, 2], failures.Select(f => f.Attempt));
        Assert.All(failures, f => Assert.Equal(("System.IO.IOException", "reset"), (f.Error.Type, f.Error.Message)));
        Assert.All(failures, f => Assert.NotNull(f.RetryAt));
    }

    [Fact]
    public async Task Retry_NonRetryableException_FailsAtOnce()
    {
        await using var harness = new RuntimeHarness();
        var attempts = 0;
        var runtime = await harness.StartAsync(r => r.Register<int, int>("strict", async (ctx, _) =>
            await ctx.StepAsync<int>("validate", _ =>
            {
                attempts++;
                throw new ArgumentException("bad input");
            }, new StepOptions { Retry = new RetryPolicy { MaxAttempts = 5, NonRetryable = [typeof(ArgumentException)] } })));

        var ex = await Assert.ThrowsAsync<RunFailedException>(async () => await (await runtime.Client.StartAsync("strict", 0, new StartRunOptions { RunId = Id })).GetResultAsync<int>(RuntimeHarness.Timeout));

        Assert.Equal(1, attempts);
        Assert.Contains("bad input", ex.Message, StringComparison.Ordinal);
        var failed = Assert.Single((await harness.Store.ReadAsync(Id)).OfType<StepFailed>());
        Assert.Null(failed.RetryAt);
    }

    [Fact]
    public async Task Retry_LongBackoff_SuspendsAsDurableTimerAndResumesWhenDue()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var attempts = 0;
        var runtime = await harness.StartAsync(r => r.Register<int, int>("patient", async (ctx, _) =>
            await ctx.StepAsync("call", _ => ++attempts == 1 ? throw new IOException("down") : Task.FromResult(attempts),
                new StepOptions { Retry = new RetryPolicy { MaxAttempts = 2, InitialDelay = TimeSpan.FromMinutes(10), MaxDelay = TimeSpan.FromHours(1), Jitter = 0 } })));

        await runtime.Client.StartAsync("patient", 0, new StartRunOptions { RunId = Id });
        var suspended = await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        Assert.Equal(harness.Clock!.GetUtcNow().AddMinutes(10), suspended.WakeAt);
        Assert.Equal(1, attempts);

        Assert.Equal(2, await harness.AdvanceUntilResultAsync<int>(runtime, Id, TimeSpan.FromMinutes(10)));
    }

    [Fact]
    public async Task StoreFailure_RunIsNotRetriedInAHotLoop_AndCompletesOnceTheStoreRecovers()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var bodies = 0;
        var client = new DurableClient(harness.Store, new DurableClientOptions { TimeProvider = harness.Clock! });
        await client.StartAsync("steady", 0, new StartRunOptions { RunId = Id });

        // The disk is full from now on: every write after the run's start fails.
        harness.Store.CrashWhen(a => a.ExpectedSequence > 0);
        var worker = await harness.StartAsync(
            r => r.Register<int, int>("steady", async (ctx, _) => await ctx.StepAsync("work", _ => Task.FromResult(Interlocked.Increment(ref bodies)))),
            o => new DurableRuntimeOptions { WorkerId = o.WorkerId, TimeProvider = o.TimeProvider, PollInterval = TimeSpan.FromMilliseconds(1), LeaseDuration = TimeSpan.FromSeconds(30) });
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (Volatile.Read(ref bodies) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        // Real time passes while the fake clock stands still, so the lease never expires: one attempt, no spinning.
        await Task.Delay(300);
        Assert.Equal(1, Volatile.Read(ref bodies));
        harness.Store.Revive();
        Assert.Equal(2, await harness.AdvanceUntilResultAsync<int>(worker, Id, TimeSpan.FromSeconds(31)));
    }
}
