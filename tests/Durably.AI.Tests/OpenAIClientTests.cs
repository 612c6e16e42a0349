using System.Collections.Concurrent;
using System.Text.Json;
using Durably.Journal;
using Durably.Storage;
using Durably.Tests.Runtime;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

// The real OpenAI client (Microsoft.Extensions.AI.OpenAI) against a local OpenAI-compatible server, so its own
// serialization of requests, responses, tool calls, usage and streams goes through the journal and back.
public sealed class OpenAIClientTests
{
    private static readonly RunId Id = new("openai-run");

    [Fact]
    public async Task GetResponseAsync_ReplayAfterCrash_ReturnsIdenticalResponseWithoutRequest()
    {
        await using var server = new FakeOpenAIServer(_ => new FakeCompletion("Bonjour, le monde.", PromptTokens: 21, CompletionTokens: 6));
        await using var harness = new RuntimeHarness();
        var fromModel = new List<string>();
        var seen = new List<string>();
        var client = new ChatClientBuilder(server.CreateClient())
            .UseDurably()
            .Use(async (messages, options, inner, ct) =>
            {
                var response = await inner.GetResponseAsync(messages, options, ct);
                fromModel.Add(AiTest.Json(response));
                return response;
            }, null)
            .Build();
        void Register(DurableRuntime r) => r.Register<string, string>("translate", async (ctx, text) =>
        {
            var response = await client.GetResponseAsync([new(ChatRole.System, "Translate to French."), new(ChatRole.User, text)], new ChatOptions { Temperature = 0 });
            lock (seen)
            {
                seen.Add(AiTest.Json(response));
            }

            await ctx.StepAsync("after", _ => Task.FromResult(0));
            return response.Text;
        });

        Assert.Equal("Bonjour, le monde.", await AiTest.CrashAndRecoverAsync<string, string>(harness, Register, "translate", "Hello, world.", Id, AiTest.AtStep("after")));

        Assert.Single(server.Requests);
        Assert.Equal([fromModel[0], fromModel[0]], seen);
        var response = JsonSerializer.Deserialize<ChatResponse>(seen[1], AIJsonUtilities.DefaultOptions)!;
        Assert.Equal(("chatcmpl-0", "fake-model", ChatFinishReason.Stop), (response.ResponseId, response.ModelId, response.FinishReason));
        Assert.Equal((21L, 6L), (response.Usage!.InputTokenCount, response.Usage.OutputTokenCount));
        Assert.Equal(new TokenUsage(21, 6) { Model = "fake-model" }, Assert.Single((await harness.Store.ReadAsync(Id)).OfType<StepCompleted>(), c => c.Step == 1).Usage);
    }

    [Fact]
    public async Task ToolLoop_ParallelToolCallsCrashBeforeFinalCall_ToolsNotReinvokedAndIdenticalRequestSent()
    {
        await using var server = new FakeOpenAIServer(request => request.Turn == 0
            ? new FakeCompletion(ToolCalls: [new("call_paris", "get_weather", "{\"city\":\"Paris\"}"), new("call_oslo", "get_weather", "{\"city\":\"Oslo\"}")], PromptTokens: 80, CompletionTokens: 30)
            : new FakeCompletion("Paris is 21°C and Oslo is 12°C.", PromptTokens: 140, CompletionTokens: 12));
        await using var harness = new RuntimeHarness();
        var invocations = new ConcurrentQueue<(string City, string Key)>();
        var weather = AIFunctionFactory.Create(
            async (string city) =>
            {
                invocations.Enqueue((city, DurableAIFunction.CurrentStep!.IdempotencyKey));
                await Task.Yield();
                return new { city, celsius = city == "Paris" ? 21 : 12 };
            },
            "get_weather",
            "Gets the current weather for a city.").AsDurable(new DurableToolOptions { Idempotent = true });
        var client = new ChatClientBuilder(server.CreateClient())
            .UseFunctionInvocation(configure: f => f.AllowConcurrentInvocation = true)
            .UseDurably()
            .Build();
        var answers = new List<string>();
        void Register(DurableRuntime r) => r.Register<string, string>("weather", async (ctx, question) =>
        {
            var response = await client.GetResponseAsync(question, new ChatOptions { Tools = [weather] });
            lock (answers)
            {
                answers.Add(AiTest.Json(response));
            }

            return response.Text;
        });
        var before = new TokenAccounting(new TokenPrices(1m, 2m));
        var after = new TokenAccounting(new TokenPrices(1m, 2m));

        var answer = await AiTest.CrashAndRecoverAsync<string, string>(
            harness, Register, "weather", "Weather in Paris and Oslo?", Id,
            a => a.Entries.OfType<StepStarted>().Any(s => s.Kind == StepKind.Model && s.Step == 4), before, after);

        Assert.Equal("Paris is 21°C and Oslo is 12°C.", answer);
        Assert.Equal([("Oslo", "openai-run:3"), ("Paris", "openai-run:2")], invocations.OrderBy(i => i.City));
        var requests = server.Requests;
        Assert.Equal(3, requests.Count);
        Assert.Equal(requests[1], requests[2]);
        using (var final = JsonDocument.Parse(requests[2]))
        {
            var toolMessages = final.RootElement.GetProperty("messages").EnumerateArray().Where(m => m.GetProperty("role").GetString() == "tool").ToList();
            Assert.Equal(["call_paris", "call_oslo"], toolMessages.Select(m => m.GetProperty("tool_call_id").GetString()));
            Assert.Contains("21", toolMessages[0].GetProperty("content").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(["chat", "tool:get_weather", "tool:get_weather", "chat"], AiTest.Steps(await harness.Store.ReadAsync(Id)).Select(s => s.Name));
        Assert.Single(answers);
        var report = await after.GetReportAsync(harness.Store, Id);
        Assert.Equal((1, new TokenUsage(80, 30)), (report.ModelCallsReplayed, report.Saved));
        Assert.Equal((1, new TokenUsage(140, 12)), (report.ModelCallsExecuted, report.Spent));
        Assert.Equal(new TokenUsage(220, 42), report.Journaled);
        Assert.Equal(0.000140m, report.SavedCost);
        Assert.Equal(new TokenUsage(80, 30), before.GetReport(Id).Spent);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ReplayAfterCrash_YieldsSameUpdatesWithoutRequest()
    {
        await using var server = new FakeOpenAIServer(_ => new FakeCompletion("Streaming through a real client works.", PromptTokens: 33, CompletionTokens: 9));
        await using var harness = new RuntimeHarness();
        var client = new ChatClientBuilder(server.CreateClient()).UseDurably().Build();
        var runs = new List<List<string>>();
        void Register(DurableRuntime r) => r.Register<string, string>("stream", async (ctx, prompt) =>
        {
            var updates = new List<ChatResponseUpdate>();
            await foreach (var update in client.GetStreamingResponseAsync(prompt))
            {
                updates.Add(update);
            }

            lock (runs)
            {
                runs.Add([.. updates.Select(AiTest.Json)]);
            }

            await ctx.StepAsync("after", _ => Task.FromResult(0));
            return updates.ToChatResponse().Text;
        });

        Assert.Equal("Streaming through a real client works.", await AiTest.CrashAndRecoverAsync<string, string>(harness, Register, "stream", "Say something.", Id, AiTest.AtStep("after")));

        Assert.Single(server.Requests);
        Assert.True(runs[0].Count > 5);
        Assert.Equal(runs[0], runs[1]);
        Assert.Equal(new TokenUsage(33, 9) { Model = "fake-model" }, Assert.Single((await harness.Store.ReadAsync(Id)).OfType<StepCompleted>(), c => c.Step == 1).Usage);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_StreamedToolCalls_ToolsRunOnceAndFinalRequestIdentical()
    {
        await using var server = new FakeOpenAIServer(request => request.Turn == 0
            ? new FakeCompletion(ToolCalls: [new("call_1", "add", "{\"a\":2,\"b\":3}"), new("call_2", "add", "{\"a\":10,\"b\":20}")])
            : new FakeCompletion("The sums are 5 and 30."));
        await using var harness = new RuntimeHarness();
        var additions = 0;
        var add = AIFunctionFactory.Create((int a, int b) =>
        {
            Interlocked.Increment(ref additions);
            return a + b;
        }, "add").AsDurable(new DurableToolOptions { Kind = StepKind.Compute });
        var client = new ChatClientBuilder(server.CreateClient()).UseFunctionInvocation().UseDurably().Build();
        void Register(DurableRuntime r) => r.Register<string, string>("sums", async (ctx, prompt) =>
        {
            var text = "";
            await foreach (var update in client.GetStreamingResponseAsync(prompt, new ChatOptions { Tools = [add] }))
            {
                text += update.Text;
            }

            return text;
        });

        var answer = await AiTest.CrashAndRecoverAsync<string, string>(
            harness, Register, "sums", "Add 2+3 and 10+20.", Id, a => a.Entries.OfType<StepStarted>().Any(s => s.Kind == StepKind.Model && s.Step == 4));

        Assert.Equal("The sums are 5 and 30.", answer);
        Assert.Equal(2, additions);
        var requests = server.Requests;
        Assert.Equal(3, requests.Count);
        Assert.Equal(requests[1], requests[2]);
        Assert.Contains("\"tool_call_id\":\"call_2\"", requests[2], StringComparison.Ordinal);
    }
}
