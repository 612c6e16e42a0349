using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Durably.AI;

// Describes model and tool steps to OpenTelemetry in the GenAI semantic conventions: each step's own span is named
// 'chat {model}' or 'execute_tool {name}' and carries the gen_ai.* attributes. Token usage is set as gen_ai.usage.* only for
// a call that ran; the runtime reports a replayed step's tokens as durably.tokens_saved.* instead.
internal static class GenAITelemetry
{
    public static StepTelemetry ForChat(IChatClient inner, ChatOptions? options)
    {
        var metadata = inner.GetService<ChatClientMetadata>();
        var model = options?.ModelId ?? metadata?.DefaultModelId;
        List<KeyValuePair<string, object?>> tags = [new("gen_ai.operation.name", "chat")];
        if (model is not null)
        {
            tags.Add(new("gen_ai.request.model", model));
        }

        if (metadata?.ProviderName is { } provider)
        {
            tags.Add(new("gen_ai.provider.name", provider));
        }

        return new StepTelemetry { SpanName = model is null ? "chat" : "chat " + model, Model = model, Tags = tags, Describe = DescribeChat };
    }

    public static StepTelemetry ForTool(string name)
    {
        List<KeyValuePair<string, object?>> tags =
        [
            new("gen_ai.operation.name", "execute_tool"),
            new("gen_ai.tool.name", name),
            new("gen_ai.tool.type", "function"),
        ];

        // The call id comes from the model's response, which is journaled, so it is the same on replay.
        if (FunctionInvokingChatClient.CurrentContext?.CallContent.CallId is { } callId)
        {
            tags.Add(new("gen_ai.tool.call.id", callId));
        }

        return new StepTelemetry { SpanName = "execute_tool " + name, Tags = tags };
    }

    private static void DescribeChat(Activity activity, StepSpanOutcome outcome)
    {
        if (outcome.Result is ModelCallRecord record)
        {
            if (Read(record, "modelId") is { } responseModel)
            {
                activity.SetTag("gen_ai.response.model", responseModel);
            }

            if (Read(record, "responseId") is { } responseId)
            {
                activity.SetTag("gen_ai.response.id", responseId);
            }
        }

        if (!outcome.Replayed && outcome.Usage is { } usage)
        {
            activity.SetTag("gen_ai.usage.input_tokens", usage.InputTokens);
            activity.SetTag("gen_ai.usage.output_tokens", usage.OutputTokens);
        }
    }

    // Reads a string property of the journaled response, or of the first streamed update that has it.
    private static string? Read(ModelCallRecord record, string property)
    {
        if (record.Response is { ValueKind: JsonValueKind.Object } response)
        {
            return response.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        }

        foreach (var update in record.Updates ?? [])
        {
            if (update.ValueKind == JsonValueKind.Object && update.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String)
            {
                return value.GetString();
            }
        }

        return null;
    }
}
