using Durably.Journal;
using Durably.Storage;

namespace Durably.Tests.Runtime;

// A crash between an effect's durable intent and its durable outcome leaves it in doubt; each policy resolves it differently.
public sealed class InDoubtTests
{
    private static readonly RunId Id = new("in-doubt-run");

    private static async Task<(RuntimeHarness Harness, Counter Sent)> CrashInDoubtAsync(StepOptions options)
    {
        var harness = new RuntimeHarness();
        var sent = new Counter();
        harness.Store.CrashWhen(a => a.Entries.OfType<StepCompleted>().Any());
        var first = await harness.StartAsync(r => Register(r, options, sent));
        await first.Client.StartAsync("send", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, _ => harness.Store.Crashed);
        await harness.CrashAsync(first);
        Assert.Equal(1, sent.Value);
        return (harness, sent);
    }

    private static void Register(DurableRuntime runtime, StepOptions options, Counter sent)
        => runtime.Register<int, string>("send", async (ctx, _) => await ctx.StepAsync("send-email", _ =>
        {
            sent.Increment();
            return Task.FromResult($"message-{sent.Value}");
        }, options));

    [Fact]
    public async Task Retry_RunsTheEffectAgainWithTheSameKey()
    {
        var (harness, sent) = await CrashInDoubtAsync(StepOptions.IdempotentEffect);
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => Register(r, StepOptions.IdempotentEffect, sent));

        Assert.Equal("message-2", await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Equal(2, sent.Value);
        var intents = (await harness.Store.ReadAsync(Id)).OfType<StepStarted>().ToList();
        Assert.Equal([1, 2], intents.Select(i => i.Attempt));
        Assert.All(intents, i => Assert.Equal("in-doubt-run:1", i.IdempotencyKey));
    }

    [Fact]
    public async Task Reconcile_DoneFromTheOutsideWorld_DoesNotRunTheEffectAgain()
    {
        string? askedKey = null;
        var options = StepOptions.Effect(InDoubtPolicy.Reconcile) with
        {
            Reconcile = step =>
            {
                askedKey = step.IdempotencyKey;
                return Task.FromResult(Reconciliation.Done("message-1 (found in outbox)"));
            },
        };
        var (harness, sent) = await CrashInDoubtAsync(options);
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => Register(r, options, sent));

        Assert.Equal("message-1 (found in outbox)", await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Equal(1, sent.Value);
        Assert.Equal("in-doubt-run:1", askedKey);
        Assert.Equal("reconcile", (await harness.Store.ReadAsync(Id)).OfType<StepCompleted>().Single().ResolvedBy);
    }

    [Fact]
    public async Task Reconcile_NotDone_RunsTheEffectAgain()
    {
        var options = StepOptions.Effect(InDoubtPolicy.Reconcile) with { Reconcile = _ => Task.FromResult(Reconciliation.NotDone) };
        var (harness, sent) = await CrashInDoubtAsync(options);
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => Register(r, options, sent));

        Assert.Equal("message-2", await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Equal(2, sent.Value);
    }

    [Fact]
    public async Task Fail_FailsTheRunWithAnInDoubtError()
    {
        var options = StepOptions.Effect(InDoubtPolicy.Fail);
        var (harness, sent) = await CrashInDoubtAsync(options);
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => Register(r, options, sent));

        var ex = await Assert.ThrowsAsync<RunFailedException>(() => runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));

        Assert.Contains("in doubt", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, sent.Value);
    }

    [Theory]
    [InlineData("done", "\"sent by hand\"", "sent by hand", 1)]
    [InlineData("retry", null, "message-2", 2)]
    public async Task AskHuman_SuspendsUntilAPersonResolves(string action, string? json, string expected, int sends)
    {
        var options = new StepOptions { Kind = StepKind.Effect };  // the safe default: AskHuman
        var (harness, sent) = await CrashInDoubtAsync(options);
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => Register(r, options, sent));

        var waiting = await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        Assert.Contains("in-doubt: step 1 'send-email'", waiting.StatusDetail, StringComparison.Ordinal);
        var resolution = action == "done" ? InDoubtResolution.Done(Payload.FromJson(json!)) : InDoubtResolution.Retry;
        await runtime.Client.ResolveInDoubtAsync(new ResolveRequest(Id, 1, resolution, "ana"));

        Assert.Equal(expected, await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Equal(sends, sent.Value);
        if (action == "done")
        {
            Assert.Equal("ana", (await harness.Store.ReadAsync(Id)).OfType<StepCompleted>().Single().ResolvedBy);
        }
    }

    [Fact]
    public async Task AskHuman_Abort_FailsTheStep()
    {
        var options = new StepOptions { Kind = StepKind.Effect };
        var (harness, sent) = await CrashInDoubtAsync(options);
        await using var _ = harness;
        var runtime = await harness.StartAsync(r => Register(r, options, sent));
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);

        await runtime.Client.ResolveInDoubtAsync(new ResolveRequest(Id, 1, InDoubtResolution.Abort, "ana"));

        var ex = await Assert.ThrowsAsync<RunFailedException>(() => runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Contains("ana aborted it", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, sent.Value);
    }

    internal sealed class Counter
    {
        private int _value;

        public int Value => Volatile.Read(ref _value);

        public void Increment() => Interlocked.Increment(ref _value);
    }
}
