using Durably.Agents;
using Microsoft.Extensions.AI;

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

    /// <summary>Offers an agent to another agent as a tool (a sub-agent), with the sub-agent's model turns and tool calls journaled one by one.</summary>
    /// <param name="agent">The sub-agent. It is made durable (see <see cref="AsDurable"/>) if it is not already.</param>
    /// <param name="options">The tool's name and description; by default the agent's sanitized name and its description, as <see cref="AIAgentExtensions.AsAIFunction"/> gives them.</param>
    /// <returns>A tool that runs the sub-agent on its input and returns its answer's text.</returns>
    /// <remarks>
    /// <para>The durable counterpart of <see cref="AIAgentExtensions.AsAIFunction"/>. A parent <see cref="DurableAgent"/> leaves this
    /// tool as it is instead of journaling each call as one effect step: the sub-agent runs in the workflow's flow, so its
    /// turns (model steps) and its tools (effect steps) are steps of the parent run, replayed one by one after a crash, and a
    /// crash inside the sub-agent repeats neither a model call nor a tool call that was journaled. The sub-agent's tokens
    /// count in <see cref="Durably.AI.TokenAccounting"/> like the parent's. Give its chat client its own step name
    /// (<c>UseDurably(new DurableChatClientOptions { StepName = "writer" })</c>) so the timeline tells the two apart.</para>
    /// <para>Each call starts a new session of the sub-agent.</para>
    /// </remarks>
    public static AIFunction AsDurableAIFunction(this AIAgent agent, AIFunctionFactoryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return new SubAgentFunction(agent.AsDurable().AsAIFunction(options));
    }
}
