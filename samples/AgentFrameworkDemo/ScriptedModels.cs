using System.Text.Json;
using Durably.Testing;
using Microsoft.Extensions.AI;

namespace AgentFrameworkDemo;

// The built-in models: deterministic answers picked by the conversation's turn (which a resumed run reaches again), with
// realistic token counts, so the demo runs offline and tells the same story every time. --llm-url swaps in an
// OpenAI-compatible endpoint.
internal static class ScriptedModels
{
    public const string SupportInstructions = "You are a support agent. Look the order up, open a ticket, ask the writer for a reply, email it, then answer.";

    public const string WriterInstructions = "You write short, kind replies to customers.";

    public static IChatClient Support() => new ScriptedChatClient(call =>
    {
        var results = call.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Select(r => Text(r.Result)).ToList();
        var (response, input, output) = call.Turn switch
        {
            0 => (ScriptedChatClient.CallTools(
                new FunctionCallContent("call_order", "get_order", new Dictionary<string, object?> { ["order"] = "A-17" }),
                new FunctionCallContent("call_ticket", "create_ticket", new Dictionary<string, object?> { ["title"] = "A-17 arrived broken" })), 420, 64),
            1 => (ScriptedChatClient.CallTools(new FunctionCallContent("call_writer", "writer", new Dictionary<string, object?> { ["query"] = $"Apologise to Ana: {results[1]}. A new lamp ships today." })), 610, 48),
            2 => (ScriptedChatClient.CallTools(new FunctionCallContent("call_email", "send_email", new Dictionary<string, object?> { ["to"] = "ana@example.com", ["body"] = results[^1] })), 780, 120),
            _ => (ScriptedChatClient.Reply($"I'm sorry about the lamp, Ana. {results[1]}; a replacement ships today and {results[^1]}."), 930, 52),
        };
        response.Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output };
        return response;
    }) { ModelId = "scripted-support-model" };

    public static IChatClient Writer() => new ScriptedChatClient(call =>
    {
        var response = ScriptedChatClient.Reply("Dear Ana, we are so sorry your lamp arrived broken. A new one ships today; ticket T-101 tracks it. - The support team");
        response.Usage = new UsageDetails { InputTokenCount = 150, OutputTokenCount = 40, TotalTokenCount = 190 };
        return response;
    }) { ModelId = "scripted-writer-model" };

    private static string Text(object? result) => result switch
    {
        JsonElement { ValueKind: JsonValueKind.String } s => s.GetString() ?? "",
        null => "",
        _ => result.ToString() ?? "",
    };
}
