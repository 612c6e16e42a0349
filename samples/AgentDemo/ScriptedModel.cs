using System.Text.Json;
using Durably.Testing;
using Microsoft.Extensions.AI;

namespace AgentDemo;

// The built-in model: deterministic answers, tool calls included, with realistic token counts, so the demo runs
// offline and tells the same story every time. --llm-url swaps in a real OpenAI-compatible endpoint.
internal static class ScriptedModel
{
    public static IChatClient Create() => new ScriptedChatClient(Respond) { ModelId = "scripted-research-model" };

    private static ChatResponse Respond(ScriptedChatCall call)
    {
        var messages = call.Messages;
        var system = messages.FirstOrDefault(m => m.Role == ChatRole.System)?.Text ?? "";
        ChatResponse response;
        if (system.StartsWith("Summarise", StringComparison.Ordinal))
        {
            response = ScriptedChatClient.Reply("Durable agents record intent before acting and outcomes before moving on, so a crash costs nothing twice. The weather, news and market data in this report were each fetched exactly once.");
            response.Usage = new UsageDetails { InputTokenCount = 640, OutputTokenCount = 48, TotalTokenCount = 688 };
        }
        else if (!messages.Any(m => m.Role == ChatRole.Tool))
        {
            var topic = messages.Last(m => m.Role == ChatRole.User).Text.Replace("Research: ", "", StringComparison.Ordinal);
            response = ScriptedChatClient.CallTools(
                new FunctionCallContent("call_weather", "FetchWeather", new Dictionary<string, object?> { ["city"] = "Lisbon" }),
                new FunctionCallContent("call_news", "FetchNews", new Dictionary<string, object?> { ["topic"] = topic }),
                new FunctionCallContent("call_prices", "FetchPrices", new Dictionary<string, object?> { ["symbol"] = "DRBL" }));
            response.Usage = new UsageDetails { InputTokenCount = 412, OutputTokenCount = 96, TotalTokenCount = 508 };
        }
        else
        {
            var results = messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Select(r => Describe(r.Result)).ToList();
            var report = "# Research report\n\n"
                + string.Join("\n", results.Select(r => "- " + r))
                + "\n\nConclusion: write-ahead logging makes long agent runs safe to crash.";
            response = ScriptedChatClient.Reply(report);
            response.Usage = new UsageDetails { InputTokenCount = 1180, OutputTokenCount = 362, TotalTokenCount = 1542 };
        }

        response.FinishReason = response.Messages[^1].Contents.OfType<FunctionCallContent>().Any() ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop;
        return response;
    }

    private static string Describe(object? result) => result switch
    {
        JsonElement { ValueKind: JsonValueKind.String } s => s.GetString() ?? "",
        null => "(nothing)",
        _ => result.ToString() ?? "",
    };
}
