using System.Text.Json;
using Durably.AI;
using Durably.Journal;
using Durably.Storage;
using Durably.Testing;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace Durably.Agents.Tests;

// DurableAgent over a real ChatClientAgent and real SQLite files. A run waits at a gate ("resume") after the agent has
// worked; the next runtime, like a new process, has a fresh agent, model and tools, so what it does not call again was
// rebuilt from the journal.
public sealed class DurableAgentTests : IAsyncLifetime
{
    private readonly SqliteRuns _runs = new();
    private int _lookups;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _runs.DisposeAsync();

    [Fact]
    public async Task RunAsync_ChatClientAgentWithAPlainTool_JournalsEachModelTurnAndEachToolCallAsItsOwnStep()
    {
        var runtime = await _runs.StartAsync(r => Register(r, Agent(Model()), stream: false, waitAfter: false));

        var handle = await runtime.Client.StartAsync("agent", "Where is order 7?", new StartRunOptions { RunId = new RunId("turns") });
        var result = await handle.GetResultAsync<string[]>();

        Assert.Equal("Order 7 ships Monday.", result[0]);
        Assert.Equal(1, _lookups);
        var steps = (await _runs.Store.ReadAsync(new RunId("turns"))).OfType<StepStarted>().Select(s => (s.Step, s.Kind, s.Name));
        Assert.Equal([(1, StepKind.Model, "chat"), (2, StepKind.Effect, "tool:lookup_order"), (3, StepKind.Model, "chat"), (4, StepKind.Model, "chat")], steps);
    }

    [Fact]
    public async Task RunAsync_ToolOptionsGiven_JournalsThePlainToolWithThem()
    {
        var agent = Model().AsBuilder().UseDurably().Build()
            .AsAIAgent(instructions: "x", tools: [LookupTool()])
            .AsDurable(new DurableAgentOptions { ToolOptions = f => new DurableToolOptions { StepName = "look up " + f.Name, Kind = StepKind.Compute } });
        var runtime = await _runs.StartAsync(r => r.Register<string, string>("agent", async (ctx, question) => (await agent.RunAsync(question)).Text));

        await (await runtime.Client.StartAsync("agent", "Where is order 7?", new StartRunOptions { RunId = new RunId("options") })).GetResultAsync<string>();

        var tool = Assert.Single((await _runs.Store.ReadAsync(new RunId("options"))).OfType<StepStarted>(), s => s.Step == 2);
        Assert.Equal((StepKind.Compute, "look up lookup_order"), (tool.Kind, tool.Name));
    }

    [Fact]
    public async Task RunAsync_ResumedByANewRuntime_RebuildsTheSessionFromTheJournalWithoutCallingTheModelOrTheTool()
    {
        var first = Model();
        var runtime = await _runs.StartAsync(r => Register(r, Agent(first), stream: false, waitAfter: true));
        await runtime.Client.StartAsync("agent", "Where is order 7?", new StartRunOptions { RunId = new RunId("rebuild") });
        await _runs.WaitForGateAsync(new RunId("rebuild"), "resume");
        var before = _sessions.Single();

        var second = Model();
        _lookups = 0;
        runtime = await _runs.StartAsync(r => Register(r, Agent(second), stream: false, waitAfter: true));
        await runtime.Client.ApproveAsync(new ApprovalRequest(new RunId("rebuild"), "resume", "test"));
        var result = await runtime.Client.GetRun(new RunId("rebuild")).GetResultAsync<string[]>();

        Assert.Equal(3, first.CallCount); // two turns of the first question, one of the follow-up
        Assert.Equal(0, second.CallCount);
        Assert.Equal(0, _lookups);
        Assert.Equal(before, result[1]);
        Assert.Contains("Order 7 ships Monday.", before, StringComparison.Ordinal);
        Assert.Contains("Anything else about order 7: no.", before, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunStreamingAsync_ResumedByANewRuntime_YieldsTheSameUpdatesWithoutCallingTheModel()
    {
        var runtime = await _runs.StartAsync(r => Register(r, Agent(Model()), stream: true, waitAfter: true));
        await runtime.Client.StartAsync("agent", "Where is order 7?", new StartRunOptions { RunId = new RunId("stream") });
        await _runs.WaitForGateAsync(new RunId("stream"), "resume");
        var live = _updates.Single();

        var second = Model();
        runtime = await _runs.StartAsync(r => Register(r, Agent(second), stream: true, waitAfter: true));
        await runtime.Client.ApproveAsync(new ApprovalRequest(new RunId("stream"), "resume", "test"));
        await runtime.Client.GetRun(new RunId("stream")).GetResultAsync<string[]>();

        Assert.Equal(0, second.CallCount);
        Assert.Equal(2, _updates.Count);
        Assert.True(live.Count > 3, "the model's answer came in several updates");
        Assert.Equal(live, _updates[1]);
    }

    [Fact]
    public async Task ApprovalRequiredTool_Approved_WaitsAtAGateNamedAfterTheToolThenRunsItOnce()
    {
        var agent = Agent(Model(), new ApprovalRequiredAIFunction(LookupTool()));
        var runtime = await _runs.StartAsync(r => Register(r, agent, stream: false, waitAfter: false));
        await runtime.Client.StartAsync("agent", "Where is order 7?", new StartRunOptions { RunId = new RunId("approve") });
        await _runs.WaitForGateAsync(new RunId("approve"), "lookup_order");
        Assert.Equal(0, _lookups);

        // A new runtime, as after a restart while the run waited.
        runtime = await _runs.StartAsync(r => Register(r, Agent(Model(), new ApprovalRequiredAIFunction(LookupTool())), stream: false, waitAfter: false));
        await runtime.Client.ApproveAsync(new ApprovalRequest(new RunId("approve"), "lookup_order", "ana"));
        var result = await runtime.Client.GetRun(new RunId("approve")).GetResultAsync<string[]>();

        Assert.Equal("Order 7 ships Monday.", result[0]);
        Assert.Equal(1, _lookups);
        var entries = await _runs.Store.ReadAsync(new RunId("approve"));
        Assert.Single(entries.OfType<StepStarted>(), s => s.Name == "tool:lookup_order");
    }

    [Fact]
    public async Task RunStreamingAsync_ApprovalRequiredToolCalledTwice_WaitsAtNumberedGatesAndYieldsNoApprovalRequests()
    {
        // The model looks the order up twice (two turns), then answers.
        var model = new ScriptedChatClient(call => call.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Count() switch
        {
            0 => ScriptedChatClient.CallTools(new FunctionCallContent("a", "lookup_order", new Dictionary<string, object?> { ["order"] = 7 })),
            1 => ScriptedChatClient.CallTools(new FunctionCallContent("b", "lookup_order", new Dictionary<string, object?> { ["order"] = 8 })),
            _ => ScriptedChatClient.Reply("Both ship Monday."),
        });
        var runtime = await _runs.StartAsync(r => Register(r, Agent(model, new ApprovalRequiredAIFunction(LookupTool())), stream: true, waitAfter: false));
        var handle = await runtime.Client.StartAsync("agent", "Where are orders 7 and 8?", new StartRunOptions { RunId = new RunId("twice") });

        await _runs.WaitForGateAsync(new RunId("twice"), "lookup_order");
        await runtime.Client.ApproveAsync(new ApprovalRequest(new RunId("twice"), "lookup_order", "ana"));
        await _runs.WaitForGateAsync(new RunId("twice"), "lookup_order#2");
        Assert.Equal(1, _lookups);
        await runtime.Client.ApproveAsync(new ApprovalRequest(new RunId("twice"), "lookup_order#2", "ana"));
        var result = await handle.GetResultAsync<string[]>();

        Assert.Equal(2, _lookups);
        Assert.Contains("text:Both ship Monday.", result[0], StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(ToolApprovalRequestContent), result[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ApprovalGatesOff_ReturnsTheFrameworksApprovalRequestsToTheCaller()
    {
        var agent = Model().AsBuilder().UseDurably().Build()
            .AsAIAgent(instructions: "x", tools: [new ApprovalRequiredAIFunction(LookupTool())])
            .AsBuilder().UseDurably(new DurableAgentOptions { ApprovalGates = false }).Build();
        var runtime = await _runs.StartAsync(r => r.Register<string, int>("agent", async (ctx, question) =>
            (await agent.RunAsync(question)).Messages.SelectMany(m => m.Contents).OfType<ToolApprovalRequestContent>().Count()));

        var requests = await (await runtime.Client.StartAsync("agent", "Where is order 7?", new StartRunOptions { RunId = new RunId("off") })).GetResultAsync<int>();

        Assert.Equal(1, requests);
        Assert.Equal(0, _lookups);
    }

    [Fact]
    public async Task ApprovalRequiredTool_Rejected_DoesNotRunAndTheModelIsToldWhoRejectedItAndWhy()
    {
        var model = Model();
        var runtime = await _runs.StartAsync(r => Register(r, Agent(model, new ApprovalRequiredAIFunction(LookupTool())), stream: false, waitAfter: false));
        var handle = await runtime.Client.StartAsync("agent", "Where is order 7?", new StartRunOptions { RunId = new RunId("reject") });
        await _runs.WaitForGateAsync(new RunId("reject"), "lookup_order");

        await runtime.Client.ApproveAsync(new ApprovalRequest(new RunId("reject"), "lookup_order", "ana") { Approved = false, Comment = "not this customer" });
        await handle.GetResultAsync<string[]>();

        Assert.Equal(0, _lookups);
        var toolResult = model.Calls[^2].Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single();
        Assert.Contains("Rejected by ana: not this customer", toolResult.Result?.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_AnAgentWithoutAChatClient_IsJournaledAsOneModelStepAndNotInvokedOnReplay()
    {
        var remote = new CountingAgent();
        var runtime = await _runs.StartAsync(r => Register(r, remote.AsDurable(), stream: false, waitAfter: true));
        await runtime.Client.StartAsync("agent", "hello", new StartRunOptions { RunId = new RunId("remote") });
        await _runs.WaitForGateAsync(new RunId("remote"), "resume");

        var again = new CountingAgent();
        runtime = await _runs.StartAsync(r => Register(r, again.AsDurable(), stream: false, waitAfter: true));
        await runtime.Client.ApproveAsync(new ApprovalRequest(new RunId("remote"), "resume", "test"));
        var result = await runtime.Client.GetRun(new RunId("remote")).GetResultAsync<string[]>();

        Assert.Equal((2, 0), (remote.Invocations, again.Invocations));
        Assert.Equal("echo: hello", result[0]);
        var steps = (await _runs.Store.ReadAsync(new RunId("remote"))).OfType<StepStarted>().Select(s => (s.Kind, s.Name)).ToList();
        Assert.Equal([(StepKind.Model, "agent:remote"), (StepKind.Model, "agent:remote"), (StepKind.Signal, "approval:resume")], steps);
    }

    [Fact]
    public async Task AsDurableAIFunction_SubAgentAsATool_JournalsTheSubAgentsTurnsAsStepsOfTheRunAndReplaysThem()
    {
        ScriptedChatClient Parent() => new(call => call.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().FirstOrDefault() is { } draft
            ? ScriptedChatClient.Reply("Sent: " + draft.Result)
            : ScriptedChatClient.CallTools(new FunctionCallContent("w1", "writer", new Dictionary<string, object?> { ["query"] = "Apologise to Ana" })));
        ScriptedChatClient Writer() => new(call => ScriptedChatClient.Reply("Dear Ana, we are sorry. (" + call.Messages[^1].Text + ")"));
        AIAgent Build(ScriptedChatClient parent, ScriptedChatClient writer)
        {
            var sub = writer.AsBuilder().UseDurably(new DurableChatClientOptions { StepName = "writer" }).Build().AsAIAgent(instructions: "You write replies.", name: "writer");
            return parent.AsBuilder().UseDurably().Build().AsAIAgent(instructions: "You answer customers.", name: "support", tools: [sub.AsDurableAIFunction()]).AsDurable();
        }

        var (parent1, writer1) = (Parent(), Writer());
        var runtime = await _runs.StartAsync(r => Register(r, Build(parent1, writer1), stream: false, waitAfter: true));
        await runtime.Client.StartAsync("agent", "Ana's order broke.", new StartRunOptions { RunId = new RunId("sub") });
        await _runs.WaitForGateAsync(new RunId("sub"), "resume");
        var (parent2, writer2) = (Parent(), Writer());
        runtime = await _runs.StartAsync(r => Register(r, Build(parent2, writer2), stream: false, waitAfter: true));
        await runtime.Client.ApproveAsync(new ApprovalRequest(new RunId("sub"), "resume", "test"));
        var result = await runtime.Client.GetRun(new RunId("sub")).GetResultAsync<string[]>();

        Assert.Equal("Sent: Dear Ana, we are sorry. (Apologise to Ana)", result[0]);
        Assert.Equal((3, 1, 0, 0), (parent1.CallCount, writer1.CallCount, parent2.CallCount, writer2.CallCount));
        var steps = (await _runs.Store.ReadAsync(new RunId("sub"))).OfType<StepStarted>().Select(s => (s.Kind, s.Name)).Take(3);
        Assert.Equal([(StepKind.Model, "chat"), (StepKind.Model, "writer"), (StepKind.Model, "chat")], steps);
    }

    [Fact]
    public void AsDurable_ChatClientAgentWhoseChatClientDoesNotJournal_ThrowsSayingHowToBuildIt()
    {
        var plain = Model().AsAIAgent(instructions: "x");

        var error = Assert.Throws<InvalidOperationException>(() => plain.AsDurable());

        Assert.Contains("UseDurably()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_OutsideARun_PassesThroughAndJournalsNothing()
    {
        var model = Model();
        var agent = Agent(model);

        var response = await agent.RunAsync("Where is order 7?");

        Assert.Equal("Order 7 ships Monday.", response.Text);
        Assert.Equal((2, 1), (model.CallCount, _lookups));
    }

    private readonly List<string> _sessions = [];
    private readonly List<List<string>> _updates = [];

    // The workflow: ask, ask a follow-up on the same session, optionally wait at a gate, return the answer and the session.
    private void Register(DurableRuntime runtime, AIAgent agent, bool stream, bool waitAfter)
        => runtime.Register<string, string[]>("agent", async (ctx, question) =>
        {
            var session = await agent.CreateSessionAsync();
            string answer;
            if (stream)
            {
                var updates = new List<string>();
                await foreach (var update in agent.RunStreamingAsync(question, session))
                {
                    updates.Add($"{update.Role}|{update.MessageId}|{update.ResponseId}|{string.Join(",", update.Contents.Select(Describe))}");
                }

                _updates.Add(updates);
                answer = string.Join("", updates);
            }
            else
            {
                answer = (await agent.RunAsync(question, session)).Text;
                await agent.RunAsync("Anything else?", session);
            }

            var serialized = JsonSerializer.Serialize(await agent.SerializeSessionAsync(session));
            if (waitAfter)
            {
                _sessions.Add(serialized);
                await ctx.WaitForApprovalAsync("resume");
            }

            return [answer, serialized];
        });

    private static string Describe(AIContent content) => content switch
    {
        TextContent text => "text:" + text.Text,
        FunctionCallContent call => $"call:{call.Name}:{call.CallId}",
        FunctionResultContent result => $"result:{result.CallId}:{result.Result}",
        UsageContent usage => $"usage:{usage.Details.TotalTokenCount}",
        _ => content.GetType().Name,
    };

    private AIAgent Agent(ScriptedChatClient model, AIFunction? tool = null)
        => model.AsBuilder().UseDurably().Build()
            .AsAIAgent(instructions: "You answer questions about orders.", name: "orders", tools: [tool ?? LookupTool()])
            .AsDurable();

    private AIFunction LookupTool() => AIFunctionFactory.Create(
        (int order) =>
        {
            Interlocked.Increment(ref _lookups);
            return $"order {order}: ships Monday";
        },
        "lookup_order");

    // Turn 0: look the order up; turn 1: answer from the tool's result; a follow-up question: answer from the history.
    private static ScriptedChatClient Model() => new(call =>
    {
        var last = call.Messages.Last(m => m.Role == ChatRole.User).Text;
        if (last == "Anything else?")
        {
            return ScriptedChatClient.Reply("Anything else about order 7: no.");
        }

        var result = call.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().LastOrDefault();
        if (result is null)
        {
            return ScriptedChatClient.CallTools(new FunctionCallContent("call-1", "lookup_order", new Dictionary<string, object?> { ["order"] = 7 }));
        }

        return ScriptedChatClient.Reply(result.Result?.ToString()?.Contains("ships Monday", StringComparison.Ordinal) == true ? "Order 7 ships Monday." : $"I could not look it up ({result.Result}).");
    });

    private sealed class RemoteSession : AgentSession;

    // An agent that is not a ChatClientAgent (a remote agent, say): it answers itself and counts its invocations.
    private sealed class CountingAgent : AIAgent
    {
        public int Invocations;

        public override string? Name => "remote";

        protected override ValueTask<AgentSession> CreateSessionCoreAsync(CancellationToken cancellationToken = default) => new(new RemoteSession());

        protected override ValueTask<JsonElement> SerializeSessionCoreAsync(AgentSession session, JsonSerializerOptions? jsonSerializerOptions = null, CancellationToken cancellationToken = default)
            => new(JsonSerializer.SerializeToElement(new { invocations = "n/a" }));

        protected override ValueTask<AgentSession> DeserializeSessionCoreAsync(JsonElement serializedState, JsonSerializerOptions? jsonSerializerOptions = null, CancellationToken cancellationToken = default)
            => new(new RemoteSession());

        protected override Task<AgentResponse> RunCoreAsync(IEnumerable<ChatMessage> messages, AgentSession? session = null, AgentRunOptions? options = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Invocations);
            return Task.FromResult(new AgentResponse(new ChatMessage(ChatRole.Assistant, "echo: " + messages.Last().Text)) { Usage = new UsageDetails { InputTokenCount = 5, OutputTokenCount = 3 } });
        }

        protected override async IAsyncEnumerable<AgentResponseUpdate> RunCoreStreamingAsync(IEnumerable<ChatMessage> messages, AgentSession? session = null, AgentRunOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var response = await RunCoreAsync(messages, session, options, cancellationToken);
            foreach (var update in response.ToAgentResponseUpdates())
            {
                yield return update;
            }
        }
    }
}
