using System.Text;
using System.Text.Json;
using Durably.Journal;
using Durably.Storage;
using Durably.Testing;
using Durably.Tests.Runtime;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

// A journal written by version 1 of the model step format must replay forever: the file is checked in and never
// regenerated. Its run made a tool-calling model call, two parallel durable tool calls, a final model call and a
// streaming call, and stopped before completing; replaying it must return everything without the model or the tools.
public sealed class GoldenModelJournalTests
{
    private static readonly RunId Id = new("golden-ai-run");

    internal static IChatClient Pipeline(IChatClient model) => new ChatClientBuilder(model)
        .UseFunctionInvocation(configure: f => f.AllowConcurrentInvocation = true)
        .UseDurably()
        .Build();

    internal static AIFunction Weather(Func<string, string> body) => AIFunctionFactory.Create(body, "get_weather").AsDurable(new DurableToolOptions { Idempotent = true });

    internal static void Register(DurableRuntime runtime, IChatClient chat, AIFunction weather) => runtime.Register<string, string>("golden-agent", async (ctx, task) =>
    {
        List<ChatMessage> history = [new(ChatRole.User, task)];
        history.AddMessages(await chat.GetResponseAsync(history, new ChatOptions { Tools = [weather] }));
        history.Add(new ChatMessage(ChatRole.User, "Now in one line, please."));
        var summary = new StringBuilder();
        await foreach (var update in chat.GetStreamingResponseAsync(history))
        {
            summary.Append(update.Text);
        }

        return history[^2].Text + " | " + summary;
    });

    [Fact]
    public async Task Replay_GoldenV1ModelJournal_CompletesWithoutModelOrTools()
    {
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Golden", "model-journal-v1.jsonl"));
        var entries = lines.Select(l => JournalSerializer.Deserialize(Encoding.UTF8.GetBytes(l))).ToList();
        await using var harness = new RuntimeHarness();
        await harness.Store.AppendAsync([new RunAppend(Id, 0, entries) { Status = RunStatus.Running }]);
        var model = new ScriptedChatClient(_ => throw new InvalidOperationException("the model must not be called on replay"));
        var weather = Weather(_ => throw new InvalidOperationException("the tool must not be invoked on replay"));

        var runtime = await harness.StartAsync(r => Register(r, Pipeline(model), weather));
        var result = await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout);

        Assert.Equal("Oslo is colder: 4°C against 18°C in Lisbon. | Oslo 4°C, Lisbon 18°C.", result);
        Assert.Equal(0, model.CallCount);
        var calls = await ModelCallReader.ReadAsync(harness.Store, Id);
        Assert.Equal(3, calls.Count);
        Assert.Equal(["Oslo", "Lisbon"], calls[0].Response!.Messages.Single().Contents.OfType<FunctionCallContent>().Select(c => ((JsonElement)c.Arguments!["city"]!).GetString()));
        Assert.Equal(ChatFinishReason.ToolCalls, calls[0].Response!.FinishReason);
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool], calls[1].Request!.Select(m => m.Role));
        Assert.Equal(5, calls[2].Request!.Count);
        Assert.True(calls[2].Updates!.Count > 3);
        Assert.Equal(new TokenUsage(120, 40), calls[0].Usage);
    }
}
