using Microsoft.Extensions.AI;

namespace Durably.Agents;

// A sub-agent offered as a tool. It is not made a durable step of its own: it runs in the workflow's flow, so its own
// model turns and tool calls are journaled one by one (in the parent run's journal) by its DurableAgent.
internal sealed class SubAgentFunction(AIFunction inner) : DelegatingAIFunction(inner);
