using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Durably.AI;
using Microsoft.Extensions.AI;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Durably.Agents;

// Calls an MCP tool with the durable step's idempotency key and fencing token in the request's _meta (and, where the
// tool takes one, as an argument). DurableAIFunction wraps it, so each call is a journaled step.
internal sealed class DurableMcpTool(McpClientTool tool, DurableMcpToolOptions options) : DelegatingAIFunction(tool)
{
    protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
    {
        var step = DurableAIFunction.CurrentStep;
        var request = new RequestOptions { JsonSerializerOptions = tool.JsonSerializerOptions };
        IReadOnlyDictionary<string, object?> sent = arguments;
        if (step is not null)
        {
            var meta = new JsonObject();
            if (options.IdempotencyKeyMeta is { } keyName)
            {
                meta[keyName] = step.IdempotencyKey;
            }

            if (options.FencingTokenMeta is { } tokenName)
            {
                meta[tokenName] = step.FencingToken.ToString(CultureInfo.InvariantCulture);
            }

            request.Meta = meta.Count > 0 ? meta : null;
            if (options.IdempotencyKeyArgument is { } argument && Declares(argument) && !arguments.ContainsKey(argument))
            {
                sent = new Dictionary<string, object?>(arguments, StringComparer.Ordinal) { [argument] = step.IdempotencyKey };
            }
        }

        var result = await tool.CallAsync(sent, progress: null, request, cancellationToken);

        // A plain text answer is returned as its text, as the model would read it; anything richer (several blocks,
        // structured content, an error) as the whole result, so nothing the server said is lost from the journal.
        if (result.IsError is not true && result.StructuredContent is null && result.Content is [TextContentBlock text])
        {
            return text.Text;
        }

        return JsonSerializer.SerializeToElement(result, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(CallToolResult)));
    }

    private bool Declares(string argument)
        => tool.JsonSchema.ValueKind == JsonValueKind.Object
            && tool.JsonSchema.TryGetProperty("properties", out var properties)
            && properties.ValueKind == JsonValueKind.Object
            && properties.TryGetProperty(argument, out _);
}
