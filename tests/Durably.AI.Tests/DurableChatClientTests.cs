using Durably.Journal;
using Durably.Testing;
using Durably.Tests.Runtime;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Durably.AI.Tests;

public sealed class DurableChatClientTests
{
    private static readonly RunId Id = new("chat-run");

    [Fact]
    public async Task GetResponseAsync_ReplayAfterCrash_ReturnsRecordedResponseWithoutCallingModel()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(new ChatResponse(new ChatMessage(ChatRole.Assistant, "Paris is the capital.") { MessageId = "m-1" })
        {
            ResponseId = "resp-1",
            ModelId = "gpt-test",
            FinishReason = ChatFinishReason.Length,
            Usage = new UsageDetails { InputTokenCount = 12, OutputTokenCount = 5, TotalTokenCount = 17 },
            AdditionalProperties = new() { ["system_fingerprint"] = "fp-1" },
        });
        var fromModel = new List<string>();
        var seen = new List<string>();
        var client = new ChatClientBuilder(model)
            .UseDurably()
            .Use(async (messages, options, inner, ct) =>
            {
                var response = await inner.GetResponseAsync(messages, options, ct);
                fromModel.Add(AiTest.Json(response));
                return response;
            }, null)
            .Build();
        void Register(DurableRuntime r) => r.Register<string, string>("ask", async (ctx, question) =>
        {
            var response = await client.GetResponseAsync(question);
            lock (seen)
            {
                seen.Add(AiTest.Json(response));
            }

            await ctx.StepAsync("after", _ => Task.FromResult(0));
            return response.Text;
        });

        var text = await AiTest.CrashAndRecoverAsync<string, string>(harness, Register, "ask", "capital of France?", Id, AiTest.AtStep("after"));

        Assert.Equal("Paris is the capital.", text);
        Assert.Equal(1, model.CallCount);
        Assert.Equal(2, seen.Count);
        Assert.Equal(fromModel[0], seen[0]);
        Assert.Equal(seen[0], seen[1]);
        Assert.Contains("\"finishReason\":\"length\"", seen[1], StringComparison.Ordinal);
        Assert.Contains("\"inputTokenCount\":12", seen[1], StringComparison.Ordinal);
        Assert.Contains("\"modelId\":\"gpt-test\"", seen[1], StringComparison.Ordinal);
        Assert.Contains("\"responseId\":\"resp-1\"", seen[1], StringComparison.Ordinal);
        Assert.Contains("fp-1", seen[1], StringComparison.Ordinal);
        var step = Assert.Single(AiTest.Steps(await harness.Store.ReadAsync(Id)), s => s.Kind == StepKind.Model);
        Assert.Equal("chat", step.Name);
    }

    [Fact]
    public async Task GetResponseAsync_ToolCallResponse_ReplaysFunctionCallsAndResultsExactly()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(
            ScriptedChatClient.CallTools(new FunctionCallContent("call-1", "lookup", new Dictionary<string, object?> { ["city"] = "Oslo", ["days"] = 3, ["metric"] = true })),
            ScriptedChatClient.Reply("done"));
        var seen = new List<string>();
        var client = new ChatClientBuilder(model).UseDurably().Build();
        void Register(DurableRuntime r) => r.Register<string, string>("manual", async (ctx, question) =>
        {
            List<ChatMessage> history = [new(ChatRole.User, question)];
            var first = await client.GetResponseAsync(history);
            history.AddMessages(first);
            history.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent("call-1", new Dictionary<string, object?> { ["temp"] = -3.5 })]));
            var second = await client.GetResponseAsync(history);
            lock (seen)
            {
                seen.Add(AiTest.Json(first) + "\n" + AiTest.Json(second));
            }

            await ctx.StepAsync("after", _ => Task.FromResult(0));
            return second.Text;
        });

        Assert.Equal("done", await AiTest.CrashAndRecoverAsync<string, string>(harness, Register, "manual", "weather?", Id, AiTest.AtStep("after")));

        Assert.Equal(2, model.CallCount);
        Assert.Equal(seen[0], seen[1]);
        Assert.Contains("\"name\":\"lookup\"", seen[1], StringComparison.Ordinal);
        Assert.Contains("\"days\":3", seen[1], StringComparison.Ordinal);
        Assert.Contains("\"finishReason\":\"tool_calls\"", seen[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponseAsync_OutsideRun_PassesThroughWithoutJournaling()
    {
        var model = new ScriptedChatClient(_ => ScriptedChatClient.Reply("hello"));
        using var client = new ChatClientBuilder(model).UseDurably().Build();

        var first = await client.GetResponseAsync("hi");
        var second = await client.GetResponseAsync("hi");

        Assert.Equal("hello", first.Text);
        Assert.Equal("hello", second.Text);
        Assert.Equal(2, model.CallCount);
        Assert.Null(RunContext.Current);
    }

    [Fact]
    public async Task GetResponseAsync_InsideStepBody_PassesThrough()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(_ => ScriptedChatClient.Reply("inner"));
        var client = new ChatClientBuilder(model).UseDurably().Build();
        var runtime = await harness.StartAsync(r => r.Register<int, string>("nested", async (ctx, _) =>
            await ctx.StepAsync("outer", async _ => (await client.GetResponseAsync("hi")).Text)));

        Assert.Equal("inner", await (await runtime.Client.StartAsync("nested", 0, new StartRunOptions { RunId = Id })).GetResultAsync<string>(RuntimeHarness.Timeout));

        Assert.Equal(["outer"], AiTest.Steps(await harness.Store.ReadAsync(Id)).Select(s => s.Name));
    }

    [Fact]
    public async Task GetResponseAsync_PromptChangedInNewCode_FailsWithNonDeterminism()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(_ => ScriptedChatClient.Reply("ok"));
        var client = new ChatClientBuilder(model).UseDurably().Build();
        var prompt = "Summarise the report.";
        void Register(DurableRuntime r) => r.Register<int, string>("summarise", async (ctx, _) =>
        {
            var response = await client.GetResponseAsync(prompt);
            await ctx.StepAsync("after", _ => Task.FromResult(0));
            return response.Text;
        });
        harness.Store.CrashWhen(AiTest.AtStep("after"));
        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("summarise", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, _ => harness.Store.Crashed);
        await harness.CrashAsync(first);

        prompt = "Summarise the report in French.";
        await harness.StartAsync(Register);

        var run = await harness.WaitForStatusAsync(Id, s => s == Storage.RunStatus.Failed);
        Assert.Contains("model step 'chat'", run.StatusDetail, StringComparison.Ordinal);
        Assert.Contains("argument hash", run.StatusDetail, StringComparison.Ordinal);
        Assert.Equal(1, model.CallCount);
    }

    [Fact]
    public async Task GetResponseAsync_MessageIdsRegeneratedOnReplay_StillReplays()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(_ => ScriptedChatClient.Reply("ok"));
        var client = new ChatClientBuilder(model).UseDurably().Build();
        void Register(DurableRuntime r) => r.Register<int, string>("ids", async (ctx, _) =>
        {
            // Ids and timestamps made afresh on every execution, as some clients do for messages they create.
            var message = new ChatMessage(ChatRole.User, "hi") { MessageId = Guid.NewGuid().ToString(), CreatedAt = DateTimeOffset.UtcNow };
            var response = await client.GetResponseAsync([message]);
            await ctx.StepAsync("after", _ => Task.FromResult(0));
            return response.Text;
        });

        Assert.Equal("ok", await AiTest.CrashAndRecoverAsync<string, int>(harness, Register, "ids", 0, Id, AiTest.AtStep("after")));
        Assert.Equal(1, model.CallCount);
    }

    [Fact]
    public void UseDurably_OutsideFunctionInvocation_ThrowsWhenBuilt()
    {
        var model = new ScriptedChatClient(_ => ScriptedChatClient.Reply("ok"));

        var ex = Assert.Throws<InvalidOperationException>(() => new ChatClientBuilder(model).UseDurably().UseFunctionInvocation().Build());

        Assert.Contains("UseFunctionInvocation().UseDurably()", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseDurably_NoOptionsGiven_ResolvesOptionsFromServices()
    {
        var model = new ScriptedChatClient(_ => ScriptedChatClient.Reply("ok"));
        var options = new DurableChatClientOptions { StepName = "plan" };

        using var client = new ChatClientBuilder(model).UseDurably().Build(new SingleService(options));

        Assert.Same(options, client.GetService<DurableChatClient>()!.Options);
    }

    [Fact]
    public async Task GetResponseAsync_StepNameOption_NamesModelSteps()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(_ => ScriptedChatClient.Reply("ok"));
        var planner = new ChatClientBuilder(model).UseDurably(new DurableChatClientOptions { StepName = "plan" }).Build();
        var writer = new ChatClientBuilder(model).UseDurably(new DurableChatClientOptions { StepName = "draft" }).Build();
        var runtime = await harness.StartAsync(r => r.Register<int, string>("named", async (ctx, _) =>
            (await planner.GetResponseAsync("plan it")).Text + (await writer.GetResponseAsync("write it")).Text));

        await (await runtime.Client.StartAsync("named", 0, new StartRunOptions { RunId = Id })).GetResultAsync<string>(RuntimeHarness.Timeout);

        Assert.Equal(["plan", "draft"], AiTest.Steps(await harness.Store.ReadAsync(Id)).Select(s => s.Name));
    }

    [Fact]
    public async Task GetResponseAsync_ToolLoopInsideModelStep_FailsLoudly()
    {
        await using var harness = new RuntimeHarness();
        var invoked = 0;
        var tool = AIFunctionFactory.Create(() => ++invoked, "count").AsDurable(new DurableToolOptions { Idempotent = true });
        var client = new DurableChatClient(new ToolCallingClient(tool));
        var runtime = await harness.StartAsync(r => r.Register<int, string>("hidden-loop", async (ctx, _) =>
        {
            try
            {
                return (await client.GetResponseAsync("go")).Text;
            }
            catch (StepFailedException ex)
            {
                return ex.Message;
            }
        }));

        var message = await (await runtime.Client.StartAsync("hidden-loop", 0, new StartRunOptions { RunId = Id })).GetResultAsync<string>(RuntimeHarness.Timeout);

        Assert.Contains("invoked inside a model step", message, StringComparison.Ordinal);
        Assert.Equal(0, invoked);
    }

    [Fact]
    public async Task GetResponseAsync_PlainToolOffered_WarnsOncePerTool()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(_ => ScriptedChatClient.Reply("ok"));
        var logs = new ListLoggerFactory();
        var client = new ChatClientBuilder(model).UseDurably(loggerFactory: logs).Build();
        var plain = AIFunctionFactory.Create(() => 1, "plain");
        var durable = AIFunctionFactory.Create(() => 2, "durable").AsDurable();
        var runtime = await harness.StartAsync(r => r.Register<int, string>("tools", async (ctx, _) =>
        {
            var options = new ChatOptions { Tools = [plain, durable] };
            await client.GetResponseAsync("one", options);
            return (await client.GetResponseAsync("two", options)).Text;
        }));

        await (await runtime.Client.StartAsync("tools", 0, new StartRunOptions { RunId = Id })).GetResultAsync<string>(RuntimeHarness.Timeout);

        var warning = Assert.Single(logs.Messages);
        Assert.Contains("Tool 'plain'", warning, StringComparison.Ordinal);
        Assert.Contains("AsDurable()", warning, StringComparison.Ordinal);
    }

    // A client that runs its own tool loop inside the model call, which a durable tool must refuse.
    private sealed class ToolCallingClient(AIFunction tool) : IChatClient
    {
        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => ScriptedChatClient.Reply($"{await tool.InvokeAsync(cancellationToken: cancellationToken)}");

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private sealed class ListLoggerFactory : ILoggerFactory, ILogger
    {
        public List<string> Messages { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages)
            {
                Messages.Add(formatter(state, exception));
            }
        }

        public void Dispose()
        {
        }
    }

    private sealed class SingleService(object service) : IServiceProvider
    {
        public object? GetService(Type serviceType) => serviceType.IsInstanceOfType(service) ? service : null;
    }
}
