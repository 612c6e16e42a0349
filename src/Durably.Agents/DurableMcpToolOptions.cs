using Durably.AI;
using ModelContextProtocol.Client;

namespace Durably.Agents;

/// <summary>Configures how MCP tools are made durable (see <see cref="DurableMcpToolExtensions"/>).</summary>
public sealed class DurableMcpToolOptions
{
    /// <summary>The default <c>_meta</c> key that carries a call's idempotency key: <c>durably/idempotency-key</c>.</summary>
    public const string DefaultIdempotencyKeyMeta = "durably/idempotency-key";

    /// <summary>The default <c>_meta</c> key that carries a call's fencing token: <c>durably/fencing-token</c>.</summary>
    public const string DefaultFencingTokenMeta = "durably/fencing-token";

    /// <summary>Gets how each tool is journaled; <see langword="null"/> (or a callback returning <see langword="null"/>) derives it from the tool's MCP annotations (see remarks).</summary>
    /// <remarks>
    /// The default reads the hints the server declares: a tool with <c>readOnlyHint</c> is a compute step (re-run safely when
    /// its outcome is not journaled); one with <c>idempotentHint</c> is an idempotent effect (in doubt after a crash: retried
    /// with the same idempotency key); any other tool is an effect whose in-doubt policy is <see cref="InDoubtPolicy.AskHuman"/>.
    /// Hints are the server's word, not a guarantee: set the options explicitly for tools whose server you do not trust.
    /// </remarks>
    public Func<McpClientTool, DurableToolOptions?>? ToolOptions { get; init; }

    /// <summary>Gets the key of the request's <c>_meta</c> that carries the call's idempotency key (<c>{run id}:{step}</c>, the same on every attempt and after a crash); <see langword="null"/> sends none. Default <see cref="DefaultIdempotencyKeyMeta"/>.</summary>
    /// <remarks><c>_meta</c> is where MCP carries request metadata that is not an argument: a server reads it from <c>RequestContext&lt;CallToolRequestParams&gt;.Params.Meta</c> and deduplicates by it; a server that does not know the key ignores it.</remarks>
    public string? IdempotencyKeyMeta { get; init; } = DefaultIdempotencyKeyMeta;

    /// <summary>Gets the key of the request's <c>_meta</c> that carries the call's fencing token (the lease epoch, higher after another worker took the run over); <see langword="null"/> sends none. Default <see cref="DefaultFencingTokenMeta"/>.</summary>
    public string? FencingTokenMeta { get; init; } = DefaultFencingTokenMeta;

    /// <summary>Gets the name of a tool argument that receives the idempotency key, for servers that take it as an argument; <see langword="null"/> (the default) sends none.</summary>
    /// <remarks>The key is added only to tools whose input schema declares a property of this name, and only when the model did not fill it. It is not part of the arguments checked on replay.</remarks>
    public string? IdempotencyKeyArgument { get; init; }
}
