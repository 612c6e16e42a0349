using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Durably.AI;

// The chat options that decide what a model answers, as a small canonical JSON object named by its hash: model id,
// instructions, sampling (temperature, top-p, top-k, penalties, seed), max output tokens, stop sequences, response format,
// tool mode, parallel tool calls, reasoning, the tools offered (each by name and a hash of its description and schemas)
// and additional properties. Per-call things (conversation id, continuation token, background responses, the raw
// representation factory) are left out: they differ between executions without changing the question.
internal static class ChatOptionsFingerprint
{
    private static readonly ConditionalWeakTable<AITool, string> ToolHashes = new();

    public static (string Hash, JsonElement Summary) Of(ChatOptions? options, JsonSerializerOptions json)
    {
        var summary = new JsonObject();
        if (options is not null)
        {
            Add(summary, "model", JsonValue.Create(options.ModelId));
            Add(summary, "instructions", JsonValue.Create(options.Instructions is { } instructions ? ChatJson.Hash(Encoding.UTF8.GetBytes(instructions)) : null));
            Add(summary, "temperature", JsonValue.Create(options.Temperature));
            Add(summary, "topP", JsonValue.Create(options.TopP));
            Add(summary, "topK", JsonValue.Create(options.TopK));
            Add(summary, "maxOutputTokens", JsonValue.Create(options.MaxOutputTokens));
            Add(summary, "frequencyPenalty", JsonValue.Create(options.FrequencyPenalty));
            Add(summary, "presencePenalty", JsonValue.Create(options.PresencePenalty));
            Add(summary, "seed", JsonValue.Create(options.Seed));
            if (options.StopSequences is { Count: > 0 } stops)
            {
                summary["stop"] = new JsonArray([.. stops.Select(s => JsonValue.Create(s))]);
            }

            Add(summary, "format", JsonValue.Create(Format(options.ResponseFormat)));
            Add(summary, "toolMode", JsonValue.Create(options.ToolMode switch
            {
                null => null,
                RequiredChatToolMode { RequiredFunctionName: { } name } => "required:" + name,
                RequiredChatToolMode => "required",
                NoneChatToolMode => "none",
                _ => "auto",
            }));
            Add(summary, "parallelToolCalls", JsonValue.Create(options.AllowMultipleToolCalls));
            Add(summary, "reasoning", JsonValue.Create(options.Reasoning is { } reasoning ? $"{reasoning.Effort}/{reasoning.Output}" : null));
            if (options.Tools is { Count: > 0 } tools)
            {
                summary["tools"] = new JsonArray([.. tools.Select(t => JsonValue.Create($"{t.Name}:{ToolHashes.GetValue(t, tool => ToolHash(tool, json))}"))]);
            }

            if (options.AdditionalProperties is { Count: > 0 } extra)
            {
                Add(summary, "extra", JsonValue.Create(ChatJson.Hash(JsonSerializer.SerializeToUtf8Bytes(extra.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(), json))));
            }
        }

        var element = JsonSerializer.SerializeToElement(summary, json);
        return (ChatJson.Hash(element), element);
    }

    // Lists what differs between two summaries, one side at a time: ("model 'gpt-4o'", "model 'gpt-4o-mini'").
    public static (string Journaled, string Requested) Difference(JsonElement journaled, JsonElement requested)
    {
        var before = Fields(journaled);
        var after = Fields(requested);
        var left = new List<string>();
        var right = new List<string>();
        foreach (var key in before.Keys.Concat(after.Keys).Distinct(StringComparer.Ordinal))
        {
            JsonElement? a = before.TryGetValue(key, out var x) ? x : null;
            JsonElement? b = after.TryGetValue(key, out var y) ? y : null;
            if (a?.GetRawText() == b?.GetRawText())
            {
                continue;
            }

            if (key == "tools")
            {
                var (journaledTools, requestedTools) = ToolDifference(a, b);
                left.Add("tools " + journaledTools);
                right.Add("tools " + requestedTools);
                continue;
            }

            left.Add($"{key} {Show(a)}");
            right.Add($"{key} {Show(b)}");
        }

        return (string.Join(", ", left), string.Join(", ", right));
    }

    private static (string, string) ToolDifference(JsonElement? journaled, JsonElement? requested)
    {
        var before = Tools(journaled);
        var after = Tools(requested);
        string Render(List<(string Name, string Hash)> tools, List<(string Name, string Hash)> other) => tools.Count == 0
            ? "none"
            : "[" + string.Join(", ", tools.Select(t => other.Any(o => o.Name == t.Name && o.Hash != t.Hash) ? t.Name + " (other description or schema)" : t.Name)) + "]";
        return (Render(before, after), Render(after, before));
    }

    private static List<(string Name, string Hash)> Tools(JsonElement? tools)
        => tools is { ValueKind: JsonValueKind.Array } array
            ? [.. array.EnumerateArray().Select(t => t.GetString() ?? string.Empty).Select(t => (t[..Math.Max(0, t.LastIndexOf(':'))], t[(t.LastIndexOf(':') + 1)..]))]
            : [];

    private static Dictionary<string, JsonElement> Fields(JsonElement summary)
        => summary.ValueKind == JsonValueKind.Object ? summary.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal) : [];

    private static string Show(JsonElement? value) => value switch
    {
        null => "not set",
        { ValueKind: JsonValueKind.String } s => $"'{s.GetString()}'",
        { } v => v.GetRawText(),
    };

    private static void Add(JsonObject summary, string name, JsonNode? value)
    {
        if (value is not null)
        {
            summary[name] = value;
        }
    }

    private static string? Format(ChatResponseFormat? format) => format switch
    {
        null => null,
        ChatResponseFormatText => "text",
        ChatResponseFormatJson { Schema: { } schema } json => $"json:{json.SchemaName}:{ChatJson.Hash(JsonSerializer.SerializeToUtf8Bytes(schema))}",
        ChatResponseFormatJson => "json",
        _ => format.GetType().Name,
    };

    // A tool is offered by name, description and schemas: a change to any of them changes what the model may answer.
    private static string ToolHash(AITool tool, JsonSerializerOptions json)
    {
        var text = new StringBuilder().Append(tool.GetType().Name).Append('\n').Append(tool.Name).Append('\n').Append(tool.Description);
        if (tool is AIFunctionDeclaration function)
        {
            text.Append('\n').Append(function.JsonSchema.GetRawText()).Append('\n').Append(function.ReturnJsonSchema?.GetRawText());
        }

        foreach (var (key, value) in tool.AdditionalProperties.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append('\n').Append(key).Append('=').Append(JsonSerializer.Serialize(value, json));
        }

        return ChatJson.Hash(Encoding.UTF8.GetBytes(text.ToString()));
    }
}
