using Durably.Testing;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

public sealed class ScriptedChatClientTests
{
    [Fact]
    public async Task GetResponseAsync_ResponseList_AnswersByConversationTurn()
    {
        using var client = new ScriptedChatClient(ScriptedChatClient.Reply("first"), ScriptedChatClient.Reply("second"));

        var first = await client.GetResponseAsync("hi");
        var again = await client.GetResponseAsync("hi");
        var second = await client.GetResponseAsync([new(ChatRole.User, "hi"), new(ChatRole.Assistant, "first"), new(ChatRole.User, "more")]);

        Assert.Equal(["first", "first", "second"], [first.Text, again.Text, second.Text]);
        Assert.Equal([0, 0, 1], client.Calls.Select(c => c.Turn));
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetResponseAsync(
            [new(ChatRole.User, "a"), new(ChatRole.Assistant, "b"), new(ChatRole.Assistant, "c")]));
    }

    [Fact]
    public async Task GetResponseAsync_ScriptedResponse_CompletedDeterministicallyAndCopiedPerCall()
    {
        using var client = new ScriptedChatClient(_ => ScriptedChatClient.CallTools(new FunctionCallContent("c1", "search", new Dictionary<string, object?> { ["q"] = "x" })));

        var first = await client.GetResponseAsync("find x");
        first.Messages.Clear();
        var second = await client.GetResponseAsync("find x");

        Assert.Single(second.Messages);
        Assert.Equal(ChatFinishReason.ToolCalls, second.FinishReason);
        Assert.Equal("scripted-model", second.ModelId);
        Assert.Equal(first.ResponseId, second.ResponseId);
        Assert.True(second.Usage!.InputTokenCount > 0 && second.Usage.OutputTokenCount > 0);
        Assert.Equal(second.Usage.InputTokenCount + second.Usage.OutputTokenCount, second.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_TextAndToolCalls_UpdatesRebuildTheResponse()
    {
        using var client = new ScriptedChatClient(_ => new ChatResponse(new ChatMessage(ChatRole.Assistant,
            [new TextContent("Let me look that up for you."), new FunctionCallContent("c1", "search", new Dictionary<string, object?> { ["q"] = "x" })])))
        { WordsPerUpdate = 2 };

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("find x"))
        {
            updates.Add(update);
        }

        Assert.Equal(["Let me ", "look that ", "up for ", "you."], updates.Where(u => u.Contents.Any(c => c is TextContent)).Select(u => u.Text));
        var rebuilt = updates.ToChatResponse();
        var message = Assert.Single(rebuilt.Messages);
        Assert.Equal("Let me look that up for you.", message.Text);
        Assert.Single(message.Contents.OfType<FunctionCallContent>());
        Assert.NotNull(rebuilt.Usage);
        Assert.Equal(ChatFinishReason.ToolCalls, rebuilt.FinishReason);
        Assert.True(client.Calls.Single().Streaming);
    }

    [Fact]
    public async Task GetResponseAsync_EstimateUsageOff_LeavesUsageUnset()
    {
        using var client = new ScriptedChatClient(ScriptedChatClient.Reply("x")) { EstimateUsage = false };

        Assert.Null((await client.GetResponseAsync("hi")).Usage);
    }
}
