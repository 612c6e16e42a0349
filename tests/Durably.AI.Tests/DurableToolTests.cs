using System.Collections.Concurrent;
using System.Text.Json;
using Durably.Journal;
using Durably.Storage;
using Durably.Testing;
using Durably.Tests.Runtime;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

public sealed class DurableToolTests
{
    private static readonly RunId Id = new("tool-run");

    private static Func<RunAppend, bool> AtOutcomeOf(int step) => a => a.Entries.OfType<StepCompleted>().Any(c => c.Step == step);

    private static Func<RunAppend, bool> AtModelStep(int step) => a => a.Entries.OfType<StepStarted>().Any(s => s.Kind == StepKind.Model && s.Step == step);

    [Fact]
    public async Task ToolLoop_CrashAfterToolStep_ToolNotReinvokedAndSameRequestSentOnRecovery()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(
            ScriptedChatClient.CallTools(new FunctionCallContent("call-1", "send_email", new Dictionary<string, object?> { ["to"] = "ada@example.com" })),
            ScriptedChatClient.Reply("Email sent."));
        var sent = new ConcurrentQueue<(string To, string Key, long Fence)>();
        var sendEmail = AIFunctionFactory.Create(
            (string to) =>
            {
                var step = DurableAIFunction.CurrentStep!;
                sent.Enqueue((to, step.IdempotencyKey, step.FencingToken));
                return $"queued for {to}";
            },
            "send_email").AsDurable(new DurableToolOptions { Idempotent = true });
        var client = new ChatClientBuilder(model).UseFunctionInvocation().UseDurably().Build();
        void Register(DurableRuntime r) => r.Register<string, string>("agent", async (ctx, task) =>
            (await client.GetResponseAsync(task, new ChatOptions { Tools = [sendEmail] })).Text);

        var answer = await AiTest.CrashAndRecoverAsync<string, string>(harness, Register, "agent", "Email Ada.", Id, AtModelStep(3));

        Assert.Equal("Email sent.", answer);
        Assert.Equal([("ada@example.com", "tool-run:2", 1L)], sent.Select(s => (s.To, s.Key, s.Fence > 0 ? 1L : 0L)));
        Assert.Equal(3, model.CallCount);
        var retried = model.Calls.Where(c => c.Turn == 1).Select(c => AiTest.Json(c.Messages)).ToList();
        Assert.Equal(2, retried.Count);
        Assert.Equal(retried[0], retried[1]);
        Assert.Contains("queued for ada@example.com", retried[1], StringComparison.Ordinal);
        var steps = AiTest.Steps(await harness.Store.ReadAsync(Id));
        Assert.Equal([("chat", StepKind.Model), ("tool:send_email", StepKind.Effect), ("chat", StepKind.Model)], steps.Select(s => (s.Name, s.Kind)));
    }

    [Fact]
    public async Task ToolLoop_CrashInToolInDoubtWindow_RetriesWithSameIdempotencyKey()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(
            ScriptedChatClient.CallTools(new FunctionCallContent("call-1", "charge", new Dictionary<string, object?> { ["cents"] = 500 })),
            ScriptedChatClient.Reply("Charged."));
        var charges = new ConcurrentQueue<(string Key, int Attempt)>();
        var charge = AIFunctionFactory.Create(
            (int cents) =>
            {
                charges.Enqueue((DurableAIFunction.CurrentStep!.IdempotencyKey, DurableAIFunction.CurrentStep.Attempt));
                return cents;
            },
            "charge").AsDurable(new DurableToolOptions { Idempotent = true });
        var client = new ChatClientBuilder(model).UseFunctionInvocation().UseDurably().Build();
        void Register(DurableRuntime r) => r.Register<string, string>("pay", async (ctx, task) =>
            (await client.GetResponseAsync(task, new ChatOptions { Tools = [charge] })).Text);

        Assert.Equal("Charged.", await AiTest.CrashAndRecoverAsync<string, string>(harness, Register, "pay", "Charge 5 dollars.", Id, AtOutcomeOf(2)));

        Assert.Equal([("tool-run:2", 1), ("tool-run:2", 2)], charges);
        Assert.Equal(2, model.CallCount);
    }

    [Fact]
    public async Task ToolLoop_ToolWithoutIdempotencyInDoubt_SuspendsForAPerson()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(ScriptedChatClient.CallTools(new FunctionCallContent("call-1", "wire", new Dictionary<string, object?>())), ScriptedChatClient.Reply("Wired."));
        var wires = 0;
        var wire = AIFunctionFactory.Create(() => Interlocked.Increment(ref wires), "wire").AsDurable();
        var client = new ChatClientBuilder(model).UseFunctionInvocation().UseDurably().Build();
        void Register(DurableRuntime r) => r.Register<string, string>("wire", async (ctx, task) =>
            (await client.GetResponseAsync(task, new ChatOptions { Tools = [wire] })).Text);
        harness.Store.CrashWhen(AtOutcomeOf(2));
        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("wire", "Wire the money.", new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, _ => harness.Store.Crashed);
        await harness.CrashAsync(first);

        await harness.StartAsync(Register);

        var run = await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        Assert.Contains("in-doubt: step 2 'tool:wire'", run.StatusDetail, StringComparison.Ordinal);
        Assert.Equal(1, wires);
    }

    [Fact]
    public async Task ToolLoop_ParallelCallsCompletingInReverse_NumberedInCallOrderAndReplayed()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(
            ScriptedChatClient.CallTools(
                new FunctionCallContent("call-a", "lookup", new Dictionary<string, object?> { ["key"] = "a" }),
                new FunctionCallContent("call-b", "lookup", new Dictionary<string, object?> { ["key"] = "b" }),
                new FunctionCallContent("call-c", "lookup", new Dictionary<string, object?> { ["key"] = "c" })),
            ScriptedChatClient.Reply("All looked up."));
        var gates = new[] { "a", "b" }.ToDictionary(k => k, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var invoked = new ConcurrentQueue<string>();
        var finished = new ConcurrentQueue<string>();
        var lookup = AIFunctionFactory.Create(
            async (string key) =>
            {
                invoked.Enqueue(key);
                if (gates.TryGetValue(key, out var gate))
                {
                    await gate.Task;
                }

                finished.Enqueue(key);

                // c finishes first and lets b finish, which lets a finish: the reverse of the call order.
                if (key == "c")
                {
                    gates["b"].SetResult();
                }
                else if (key == "b")
                {
                    gates["a"].SetResult();
                }

                return $"value of {key}";
            },
            "lookup").AsDurable(new DurableToolOptions { Idempotent = true });
        var client = new ChatClientBuilder(model).UseFunctionInvocation(configure: f => f.AllowConcurrentInvocation = true).UseDurably().Build();
        void Register(DurableRuntime r) => r.Register<string, string>("parallel", async (ctx, task) =>
            (await client.GetResponseAsync(task, new ChatOptions { Tools = [lookup] })).Text);

        var answer = await AiTest.CrashAndRecoverAsync<string, string>(harness, Register, "parallel", "Look up a, b and c.", Id, AtModelStep(5));

        Assert.Equal("All looked up.", answer);
        Assert.Equal(["c", "b", "a"], finished);
        Assert.Equal(3, invoked.Count);
        var journal = await harness.Store.ReadAsync(Id);
        Assert.Equal(["chat", "tool:lookup", "tool:lookup", "tool:lookup", "chat"], AiTest.Steps(journal).Select(s => s.Name));
        var results = journal.OfType<StepCompleted>().Where(c => c.Step is >= 2 and <= 4).OrderBy(c => c.Step).Select(c => c.Result!.ToJsonString());
        Assert.Equal(["\"value of a\"", "\"value of b\"", "\"value of c\""], results);
        var final = model.Calls.Where(c => c.Turn == 1).Select(c => AiTest.Json(c.Messages)).ToList();
        Assert.Equal(2, final.Count);
        Assert.Equal(final[0], final[1]);
        var toolResults = model.Calls[^1].Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Select(r => (r.CallId, ((JsonElement)r.Result!).GetString()));
        Assert.Equal([("call-a", "value of a"), ("call-b", "value of b"), ("call-c", "value of c")], toolResults);
    }

    [Fact]
    public async Task ToolLoop_ParallelCallsWithOneInDoubt_OnlyThatOneRunsAgain()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(
            ScriptedChatClient.CallTools(
                new FunctionCallContent("call-a", "notify", new Dictionary<string, object?> { ["who"] = "a" }),
                new FunctionCallContent("call-b", "notify", new Dictionary<string, object?> { ["who"] = "b" }),
                new FunctionCallContent("call-c", "notify", new Dictionary<string, object?> { ["who"] = "c" })),
            ScriptedChatClient.Reply("Notified."));
        var durable = new StepsDurable(2, 4);
        var calls = new ConcurrentQueue<(string Who, string Key)>();
        var notify = AIFunctionFactory.Create(
            async (string who) =>
            {
                calls.Enqueue((who, DurableAIFunction.CurrentStep!.IdempotencyKey));
                if (who == "b")
                {
                    // b finishes last, once the outcomes of a and c are durable.
                    await durable.Task;
                }

                return who;
            },
            "notify").AsDurable(new DurableToolOptions { Idempotent = true });
        var client = new ChatClientBuilder(model).UseFunctionInvocation(configure: f => f.AllowConcurrentInvocation = true).UseDurably().Build();
        void Register(DurableRuntime r) => r.Register<string, string>("notify", async (ctx, task) =>
            (await client.GetResponseAsync(task, new ChatOptions { Tools = [notify] })).Text);

        Assert.Equal("Notified.", await AiTest.CrashAndRecoverAsync<string, string>(harness, Register, "notify", "Notify a, b, c.", Id, AtOutcomeOf(3), observer: durable));

        Assert.Equal([("a", "tool-run:2"), ("b", "tool-run:3"), ("b", "tool-run:3"), ("c", "tool-run:4")], calls.OrderBy(c => c.Who));
    }

    [Fact]
    public async Task ToolLoop_ToolFailsForGood_ReplaysFailureWithoutInvokingAgain()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(
            ScriptedChatClient.CallTools(new FunctionCallContent("call-1", "fetch", new Dictionary<string, object?>())),
            ScriptedChatClient.Reply("Could not fetch."));
        var attempts = 0;
        var fetch = AIFunctionFactory.Create(
            string () =>
            {
                Interlocked.Increment(ref attempts);
                throw new InvalidOperationException("upstream is down");
            },
            "fetch").AsDurable(new DurableToolOptions { Idempotent = true });
        var client = new ChatClientBuilder(model).UseFunctionInvocation(configure: f => f.IncludeDetailedErrors = true).UseDurably().Build();
        void Register(DurableRuntime r) => r.Register<string, string>("fetch", async (ctx, task) =>
            (await client.GetResponseAsync(task, new ChatOptions { Tools = [fetch] })).Text);

        Assert.Equal("Could not fetch.", await AiTest.CrashAndRecoverAsync<string, string>(harness, Register, "fetch", "Fetch it.", Id, AtModelStep(3)));

        Assert.Equal(1, attempts);
        var final = model.Calls.Where(c => c.Turn == 1).Select(c => AiTest.Json(c.Messages)).ToList();
        Assert.Equal(final[0], final[1]);
        Assert.Contains("upstream is down", final[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AsDurable_OutsideRun_InvokesFunctionDirectly()
    {
        StepContext? seen = null;
        var tool = AIFunctionFactory.Create(() =>
        {
            seen = DurableAIFunction.CurrentStep;
            return 7;
        }, "seven").AsDurable();

        var result = await tool.InvokeAsync();

        Assert.Equal(7, ((JsonElement)result!).GetInt32());
        Assert.Null(seen);
        Assert.Equal("seven", tool.Name);
        Assert.Same(tool, tool.AsDurable());
    }

    [Fact]
    public async Task AsDurable_ComputeKindAndCustomName_JournaledAsComputeStep()
    {
        await using var harness = new RuntimeHarness();
        var tool = AIFunctionFactory.Create((int x) => x * 2, "double").AsDurable(new DurableToolOptions { Kind = StepKind.Compute, StepName = "math" });
        var runtime = await harness.StartAsync(r => r.Register<int, int>("calc", async (ctx, x) =>
            ((JsonElement)(await tool.InvokeAsync(new AIFunctionArguments { ["x"] = x }))!).GetInt32()));

        Assert.Equal(42, await (await runtime.Client.StartAsync("calc", 21, new StartRunOptions { RunId = Id })).GetResultAsync<int>(RuntimeHarness.Timeout));

        var step = Assert.Single(AiTest.Steps(await harness.Store.ReadAsync(Id)));
        Assert.Equal(("math", StepKind.Compute), (step.Name, step.Kind));
        Assert.NotNull(step.ArgumentHash);
    }

    [Fact]
    public void AsDurable_WaitKind_Throws()
    {
        var tool = AIFunctionFactory.Create(() => 1, "one");

        Assert.Throws<ArgumentException>(() => tool.AsDurable(new DurableToolOptions { Kind = StepKind.Timer }));
    }

    // Completes when the outcomes of the given steps are durable.
    private sealed class StepsDurable(params int[] steps) : RunObserver
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining = steps.Length;

        public Task Task => _done.Task;

        public override void OnStepCompleted(RunId runId, StepInfo step, TimeSpan duration, TokenUsage? usage, bool failed)
        {
            if (steps.Contains(step.Step) && Interlocked.Decrement(ref _remaining) == 0)
            {
                _done.TrySetResult();
            }
        }
    }
}
