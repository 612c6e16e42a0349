using Durably.Agents;

namespace Microsoft.Agents.AI;

/// <summary>Makes Agent Framework agents durable.</summary>
public static class DurableAgentBuilderExtensions
{
    /// <summary>Adds a <see cref="DurableAgent"/> to the agent pipeline: inside a Durably run each model turn and each tool call is journaled and tool approvals wait at durable approval gates.</summary>
    /// <param name="builder">The agent pipeline builder.</param>
    /// <param name="options">The options; when <see langword="null"/>, a <see cref="DurableAgentOptions"/> registered in the builder's service provider, or the defaults.</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// A <see cref="ChatClientAgent"/> must be made over a chat client built with <c>UseDurably()</c>, so that its model calls are
    /// journaled turn by turn: <c>model.AsBuilder().UseDurably().Build().AsAIAgent(...).AsBuilder().UseDurably().Build()</c>.
    /// Building over one that is not throws.
    /// </remarks>
    public static AIAgentBuilder UseDurably(this AIAgentBuilder builder, DurableAgentOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) => new DurableAgent(inner, options ?? services.GetService(typeof(DurableAgentOptions)) as DurableAgentOptions));
    }

    /// <summary>Wraps an agent so that its invocations inside a Durably run are journaled (see <see cref="DurableAgent"/>).</summary>
    /// <param name="agent">The agent.</param>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    /// <returns>The durable agent, or <paramref name="agent"/> itself when it is a durable agent already and no options are given.</returns>
    /// <inheritdoc cref="UseDurably" path="/remarks"/>
    public static AIAgent AsDurable(this AIAgent agent, DurableAgentOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return agent is DurableAgent && options is null ? agent : new DurableAgent(agent, options);
    }
}
