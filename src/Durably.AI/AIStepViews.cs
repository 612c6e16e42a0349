using System.Text.Json;
using Durably.Codecs;
using Durably.Journal;
using Microsoft.Extensions.AI;

namespace Durably.AI;

/// <summary>Reads the model steps a <see cref="DurableChatClient"/> journaled and the tool steps <see cref="DurableAIFunction"/>s journaled, as people read them.</summary>
/// <remarks>
/// A model step's record is the deduplicated form replay needs (message hashes, a response skeleton); a tool step's result is
/// the JSON its function returned, often a string of JSON. This turns both into <see cref="AIStepView"/>s: the reply text and
/// tool calls of a model step, the tool name, arguments and result of a tool step. A tool step is one named
/// <c>tool:{name}</c> (or the bare name of a call the model asked for); its arguments are those of the earliest call of that
/// tool the preceding model steps asked for and no tool step took yet.
/// </remarks>
public static class AIStepViews
{
    /// <summary>Reads the views of a run's model and tool steps, keyed by step number; other steps have none.</summary>
    /// <param name="entries">The run's journal, from sequence 0.</param>
    /// <param name="codec">The codec the run's runtime uses; <see cref="JsonPayloadCodec.Default"/> when <see langword="null"/>.</param>
    /// <param name="serializerOptions">The chat client's serializer options; the default of <see cref="DurableChatClientOptions.SerializerOptions"/> when <see langword="null"/>.</param>
    public static IReadOnlyDictionary<int, AIStepView> Read(IReadOnlyList<JournalEntry> entries, IPayloadCodec? codec = null, JsonSerializerOptions? serializerOptions = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        codec ??= JsonPayloadCodec.Default;
        var json = serializerOptions ?? ChatJson.DefaultOptions;
        var intents = new Dictionary<int, StepStarted>();
        var pending = new List<AIToolCallView>();
        var views = new Dictionary<int, AIStepView>();
        foreach (var entry in entries)
        {
            if (entry is StepStarted started)
            {
                intents[started.Step] = started;
                continue;
            }

            if (entry is not StepCompleted completed || !intents.TryGetValue(completed.Step, out var intent))
            {
                continue;
            }

            if (intent.Kind == StepKind.Model)
            {
                if (completed.Result is { } payload && ModelCallReader.TryDecode(codec, payload) is { } record && ModelView(completed.Step, record, json) is { } model)
                {
                    views[completed.Step] = model;
                    pending.AddRange(model.ToolCalls);
                }
            }
            else if (intent.Kind is StepKind.Effect or StepKind.Compute && ToolName(intent.Name, pending) is { } tool)
            {
                var call = pending.FindIndex(c => c.Name == tool);
                views[completed.Step] = new AIStepView
                {
                    Step = completed.Step,
                    Tool = tool,
                    Arguments = call < 0 ? null : pending[call].Arguments,
                    Result = completed.Result is { } result ? Unwrap(Decode(codec, result)) : null,
                };
                if (call >= 0)
                {
                    pending.RemoveAt(call);
                }
            }
        }

        return views;
    }

    private static string? ToolName(string stepName, List<AIToolCallView> pending)
        => stepName.StartsWith("tool:", StringComparison.Ordinal) ? stepName["tool:".Length..] : pending.Any(c => c.Name == stepName) ? stepName : null;

    private static AIStepView? ModelView(int step, ModelCallRecord record, JsonSerializerOptions json)
    {
        ChatResponse response;
        try
        {
            response = record.Response is not null ? ChatJson.ToResponse(record, json) : (record.Updates ?? []).Select(u => ChatJson.ToUpdate(u, json)).ToChatResponse();
        }
        catch (JsonException)
        {
            return null;
        }

        var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>()
            .Select(c => new AIToolCallView(c.Name, c.Arguments is null ? null : JsonSerializer.SerializeToElement(c.Arguments, json)))
            .ToList();
        var text = string.Concat(response.Messages.Where(m => m.Role == ChatRole.Assistant).Select(m => m.Text));
        return new AIStepView { Step = step, Model = response.ModelId, Text = text.Length == 0 ? null : text, ToolCalls = calls };
    }

    private static JsonElement? Decode(IPayloadCodec codec, Payload payload)
    {
        try
        {
            return codec.Decode<JsonElement?>(payload);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            return null;
        }
    }

    // A tool that returns serialized JSON as a string is journaled as a JSON string; show the JSON inside it.
    private static JsonElement? Unwrap(JsonElement? value)
    {
        if (value is not { ValueKind: JsonValueKind.String } text || text.GetString() is not { } inner || inner.Length == 0 || inner[0] is not ('{' or '['))
        {
            return value;
        }

        try
        {
            using var document = JsonDocument.Parse(inner);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return value;
        }
    }
}
