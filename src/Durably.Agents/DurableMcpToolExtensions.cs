using Durably.AI;
using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;

namespace Durably.Agents;

/// <summary>Makes tools listed from an MCP server (<see cref="McpClient.ListToolsAsync(ModelContextProtocol.RequestOptions?, CancellationToken)"/>) durable.</summary>
public static class DurableMcpToolExtensions
{
    /// <summary>Wraps an MCP tool so that its calls inside a Durably run are journaled steps that pass the idempotency key to the server.</summary>
    /// <param name="tool">The tool, as listed by an <see cref="McpClient"/>.</param>
    /// <param name="options">Where the idempotency key goes and each tool's policy; defaults when <see langword="null"/>.</param>
    /// <returns>A <see cref="DurableAIFunction"/>: give it to an agent or a chat client's <see cref="ChatOptions.Tools"/> like any tool.</returns>
    /// <remarks>
    /// Each call is an effect step named <c>tool:{name}</c> (a compute step for a read-only tool): its intent is durable before
    /// the request is sent, its result before the tool loop goes on, and replay returns the journaled result without calling
    /// the server. The request's <c>_meta</c> carries the step's idempotency key and fencing token
    /// (<see cref="DurableMcpToolOptions.IdempotencyKeyMeta"/>), so a server that deduplicates can make a retry after a crash
    /// harmless. A text result is journaled as its text, anything else as the whole <c>CallToolResult</c> JSON.
    /// </remarks>
    public static DurableAIFunction AsDurable(this McpClientTool tool, DurableMcpToolOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tool);
        options ??= new DurableMcpToolOptions();
        return new DurableAIFunction(new DurableMcpTool(tool, options), options.ToolOptions?.Invoke(tool) ?? FromAnnotations(tool));
    }

    /// <summary>Wraps every tool of a list (see <see cref="AsDurable(McpClientTool, DurableMcpToolOptions?)"/>).</summary>
    /// <param name="tools">The tools, as listed by an <see cref="McpClient"/>.</param>
    /// <param name="options">Where the idempotency key goes and each tool's policy; defaults when <see langword="null"/>.</param>
    /// <returns>The durable tools, in the same order, ready for an agent's <c>tools</c> or <see cref="ChatOptions.Tools"/>.</returns>
    public static IList<AITool> AsDurable(this IEnumerable<McpClientTool> tools, DurableMcpToolOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tools);
        return [.. tools.Select(tool => (AITool)tool.AsDurable(options))];
    }

    private static DurableToolOptions FromAnnotations(McpClientTool tool)
    {
        var hints = tool.ProtocolTool.Annotations;
        if (hints?.ReadOnlyHint == true)
        {
            return new DurableToolOptions { Kind = StepKind.Compute };
        }

        return new DurableToolOptions { Idempotent = hints?.IdempotentHint == true ? true : null };
    }
}
