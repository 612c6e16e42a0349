using Durably.AI;
using Microsoft.Extensions.AI;

namespace Durably.Agents;

/// <summary>Configures a <see cref="DurableAgent"/>.</summary>
public sealed class DurableAgentOptions
{
    /// <summary>Gets how each tool the agent offers is journaled, by tool; <see langword="null"/> (or a callback returning <see langword="null"/>) gives the default: an effect step whose in-doubt policy is <see cref="InDoubtPolicy.AskHuman"/>.</summary>
    /// <remarks>Tools already made durable (with <see cref="DurableAIFunctionExtensions.AsDurable"/> or <see cref="DurableMcpToolExtensions.AsDurable(ModelContextProtocol.Client.McpClientTool, DurableMcpToolOptions?)"/>) keep their own options and are not asked about.</remarks>
    public Func<AIFunction, DurableToolOptions?>? ToolOptions { get; init; }

    /// <summary>Gets a value indicating whether the agent's tool-approval requests (<see cref="ToolApprovalRequestContent"/>, raised for an <see cref="ApprovalRequiredAIFunction"/>) wait at a durable approval gate. Default <see langword="true"/>.</summary>
    /// <remarks>When off, approval requests are returned to the caller as the Agent Framework returns them, and the caller answers them itself.</remarks>
    public bool ApprovalGates { get; init; } = true;

    /// <summary>Gets the name of the approval gate for a tool-approval request; by default the tool's name, with <c>#2</c>, <c>#3</c>, ... appended when the same name waits again in the run.</summary>
    /// <remarks>People approve with <c>durably approve RUN GATE</c>, so a gate name should say what is approved. The default makes names unique within a run; a custom callback must do so itself (for example by including <see cref="InputRequestContent.RequestId"/>).</remarks>
    public Func<ToolApprovalRequestContent, string>? ApprovalGate { get; init; }

    /// <summary>Gets how long an approval gate waits before the run fails with a <see cref="TimeoutException"/>; <see langword="null"/> (the default) waits for as long as it takes.</summary>
    public TimeSpan? ApprovalTimeout { get; init; }

    /// <summary>Gets the name of the model step that journals a whole agent invocation, for agents whose model calls are not journaled turn by turn. Default <c>agent:{agent name}</c>, or <c>agent</c> when the agent has no name.</summary>
    public string? StepName { get; init; }
}
