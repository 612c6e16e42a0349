using Durably.AI;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.AI;

/// <summary>Adds Durably's journaling to a chat client pipeline.</summary>
public static class DurableChatClientBuilderExtensions
{
    /// <summary>Adds a <see cref="DurableChatClient"/>: inside a Durably run each model round-trip is a journaled step, replayed after a crash instead of calling the model again.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="options">The options; when <see langword="null"/>, a <see cref="DurableChatClientOptions"/> registered in the builder's service provider, or the defaults.</param>
    /// <param name="loggerFactory">The logger factory; when <see langword="null"/>, the one registered in the builder's service provider, if any.</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// Call it after <c>UseFunctionInvocation()</c>, so that function invocation wraps it and every model round-trip and every
    /// tool call is its own step: <c>new ChatClientBuilder(model).UseFunctionInvocation().UseDurably().Build()</c>. Building the
    /// opposite order throws.
    /// </remarks>
    public static ChatClientBuilder UseDurably(this ChatClientBuilder builder, DurableChatClientOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) => new DurableChatClient(
            inner,
            options ?? services.GetService(typeof(DurableChatClientOptions)) as DurableChatClientOptions,
            loggerFactory ?? services.GetService(typeof(ILoggerFactory)) as ILoggerFactory));
    }
}
