using System.Text.Json;
using Durably.Journal;
using Durably.Testing;
using Durably.Tests.Runtime;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

public sealed class ConversationStorageTests
{
    private static readonly RunId Id = new("conversation-run");

    [Fact]
    public async Task DeduplicateMessages_ToolConversation_StoresEachMessageBodyOnce()
    {
        await using var harness = new RuntimeHarness();
        var agent = new Agent(new DurableChatClientOptions());
        var runtime = await harness.StartAsync(agent.Register);

        var messages = await (await runtime.Client.StartAsync("agent", 12, new StartRunOptions { RunId = Id })).GetResultAsync<int>(RuntimeHarness.Timeout);

        var records = await ReadRecordsAsync(harness);
        Assert.Equal(24, records.Count);
        var stored = records.SelectMany(r => r.GetProperty("msgs").EnumerateObject().Select(p => p.Name)).ToList();
        Assert.Equal(stored.Count, stored.Distinct().Count());

        // Every message of the conversation once, plus each tool-calling message a second time: the tool loop marks its
        // calls as handled (FunctionCallContent.InformationalOnly) before sending it back, which changes its content.
        Assert.Equal(messages + 12, stored.Count);

        // After the first call every request names an earlier conversation and adds only what is new to it.
        Assert.All(records.Skip(1), r => Assert.True(r.GetProperty("req").GetProperty("add").GetArrayLength() <= 2));
    }

    [Fact]
    public async Task DeduplicateMessages_DoublingTheConversation_RoughlyDoublesTheJournalWhileFullStorageQuadruples()
    {
        var deduplicated10 = await JournalBytesAsync(new DurableChatClientOptions(), 10);
        var deduplicated20 = await JournalBytesAsync(new DurableChatClientOptions(), 20);
        var full10 = await JournalBytesAsync(new DurableChatClientOptions { DeduplicateMessages = false }, 10);
        var full20 = await JournalBytesAsync(new DurableChatClientOptions { DeduplicateMessages = false }, 20);

        Assert.InRange(deduplicated20 / (double)deduplicated10, 1.8, 2.3);
        Assert.InRange(full20 / (double)full10, 3.0, 4.2);
        Assert.True(full20 > 3 * deduplicated20, $"full storage {full20} bytes, deduplicated {deduplicated20} bytes");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ModelCallReader_AnyStorage_RebuildsEveryRequestAndResponseExactly(bool deduplicate)
    {
        await using var harness = new RuntimeHarness();
        var agent = new Agent(new DurableChatClientOptions { DeduplicateMessages = deduplicate });
        var runtime = await harness.StartAsync(agent.Register);
        await (await runtime.Client.StartAsync("agent", 6, new StartRunOptions { RunId = Id })).GetResultAsync<int>(RuntimeHarness.Timeout);

        var calls = await ModelCallReader.ReadAsync(harness.Store, Id);

        Assert.Equal(agent.Model.Calls.Select(c => AiTest.Json(c.Messages)), calls.Select(c => AiTest.Json(c.Request!)));
        Assert.Equal(agent.Responses, calls.Select(c => AiTest.Json(c.Response!)));
        Assert.All(calls, c => Assert.True(c.Usage!.TotalTokens > 0));
    }

    [Fact]
    public async Task DeduplicateMessages_CrashAtTheEnd_WholeConversationReplaysWithoutModelCalls()
    {
        await using var harness = new RuntimeHarness();
        var agent = new Agent(new DurableChatClientOptions());

        var messages = await AiTest.CrashAndRecoverAsync<int, int>(harness, agent.Register, "agent", 8, Id, a => a.Entries.OfType<RunCompleted>().Any());

        Assert.Equal(16, agent.Model.CallCount);
        Assert.Equal(8, agent.Lookups);
        Assert.Equal(2, agent.Finals.Count);
        Assert.Equal(agent.Finals[0], agent.Finals[1]);
        Assert.Equal(1 + (8 * 4), messages);
    }

    private static async Task<long> JournalBytesAsync(DurableChatClientOptions options, int turns)
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(new Agent(options).Register);
        await (await runtime.Client.StartAsync("agent", turns, new StartRunOptions { RunId = Id })).GetResultAsync<int>(RuntimeHarness.Timeout);
        return (await harness.Store.ReadAsync(Id)).Sum(e => (long)JournalSerializer.Serialize(e).Length);
    }

    private static async Task<List<JsonElement>> ReadRecordsAsync(RuntimeHarness harness)
    {
        var journal = await harness.Store.ReadAsync(Id);
        var models = journal.OfType<StepStarted>().Where(s => s.Kind == StepKind.Model).Select(s => s.Step).ToHashSet();
        return [.. journal.OfType<StepCompleted>().Where(c => models.Contains(c.Step)).Select(c => JsonDocument.Parse(c.Result!.ToJsonString()).RootElement)];
    }

    // A research agent: each turn the user asks, the model looks something up with a durable tool, then answers.
    private sealed class Agent
    {
        private readonly IChatClient _client;
        private readonly AIFunction _lookup;

        public Agent(DurableChatClientOptions options)
        {
            Model = new ScriptedChatClient(call => call.Messages[^1].Role == ChatRole.User
                ? ScriptedChatClient.CallTools(new FunctionCallContent($"call-{call.Turn}", "lookup", new Dictionary<string, object?> { ["topic"] = call.Messages[^1].Text }))
                : ScriptedChatClient.Reply($"Turn {call.Turn}: according to the lookup, {call.Messages[^1].Contents.OfType<FunctionResultContent>().Single().Result}, which answers the question."));
            _lookup = AIFunctionFactory.Create((string topic) =>
            {
                Interlocked.Increment(ref _lookups);
                return $"the archive has 3 documents on '{topic}'";
            }, "lookup").AsDurable(new DurableToolOptions { Idempotent = true });
            _client = new ChatClientBuilder(Model)
                .UseFunctionInvocation()
                .UseDurably(options)
                .Use(async (messages, chatOptions, inner, ct) =>
                {
                    var response = await inner.GetResponseAsync(messages, chatOptions, ct);
                    lock (Responses)
                    {
                        Responses.Add(AiTest.Json(response));
                    }

                    return response;
                }, null)
                .Build();
        }

        private int _lookups;

        public ScriptedChatClient Model { get; }

        public List<string> Responses { get; } = [];

        public List<string> Finals { get; } = [];

        public int Lookups => _lookups;

        public void Register(DurableRuntime runtime) => runtime.Register<int, int>("agent", async (ctx, turns) =>
        {
            List<ChatMessage> history = [new(ChatRole.System, "You are a careful research assistant. Use the lookup tool before answering, and cite what it returns.")];
            for (var turn = 0; turn < turns; turn++)
            {
                history.Add(new ChatMessage(ChatRole.User, $"Question {turn}: what does the archive hold about subject number {turn}?"));
                history.AddMessages(await _client.GetResponseAsync(history, new ChatOptions { Tools = [_lookup] }));
            }

            lock (Finals)
            {
                Finals.Add(AiTest.Json(history));
            }

            return history.Count;
        });
    }
}
