using System.Runtime.CompilerServices;
using System.Text.Json;
using Durably.AI;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace Durably.Agents;

/// <summary>Runs an Agent Framework agent as part of a Durably run: model turns and tool calls are journaled, tool approvals wait at durable approval gates, and after a crash the agent's conversation is rebuilt from the journal.</summary>
/// <remarks>
/// <para>Create it with <see cref="Microsoft.Agents.AI.DurableAgentBuilderExtensions.UseDurably"/> or
/// <see cref="Microsoft.Agents.AI.DurableAgentBuilderExtensions.AsDurable"/>. Inside a run (<see cref="RunContext.Current"/>
/// is set, that is, in workflow code) an invocation is journaled; outside a run, and inside step bodies, it passes through
/// unchanged.</para>
/// <para><b>Turn by turn.</b> When the inner agent's model calls go through a <see cref="DurableChatClient"/> (a
/// <see cref="ChatClientAgent"/> over a chat client built with <c>UseDurably()</c>), each model round-trip is a model step and
/// each tool call an effect step: the tools the agent offers are wrapped with <see cref="DurableAIFunction"/> for the
/// invocation (tools already durable keep their options; the rest get <see cref="DurableAgentOptions.ToolOptions"/>). The
/// agent's session is rebuilt by replay: the workflow runs the agent again, every turn returns its journaled answer without
/// calling the model, every tool call its journaled result without running the tool, and the session's chat history fills up
/// with the same messages. Streaming yields the same updates on replay; the tool-result updates, which the function loop
/// identifies with fresh GUIDs, get ids from <see cref="RunContext.NewGuid"/> instead, the same on replay.</para>
/// <para><b>One step per invocation.</b> Any other agent (a remote agent, a custom <see cref="AIAgent"/>) is journaled as one
/// model step per <c>RunAsync</c> or <c>RunStreamingAsync</c> call, holding its <see cref="AgentResponse"/> or updates: replay
/// returns them without invoking the agent, and a crash inside the invocation runs it again. A streaming invocation yields its
/// updates once its step is durable.</para>
/// <para><b>Human in the loop.</b> A response asking to approve a tool call (<see cref="ToolApprovalRequestContent"/>, raised by
/// an <see cref="ApprovalRequiredAIFunction"/>) makes the run wait at a durable approval gate named after the tool
/// (<see cref="DurableAgentOptions.ApprovalGate"/>): the run is unloaded, possibly for days, until a person decides with
/// <c>durably approve RUN GATE</c>, <see cref="DurableClient.ApproveAsync(ApprovalRequest, CancellationToken)"/> or the
/// dashboard. The decision goes back to the agent as the framework's <see cref="ToolApprovalResponseContent"/> (a rejection's
/// comment as its reason), the agent goes on (running the approved tool as a durable step), and the caller receives the
/// messages of every round with the answered requests left out.</para>
/// </remarks>
public sealed class DurableAgent : DelegatingAIAgent
{
    private static readonly ConditionalWeakTable<RunContext, Dictionary<string, int>> GateCounts = new();
    private readonly bool _turnByTurn;

    /// <summary>Creates a durable agent over <paramref name="innerAgent"/>.</summary>
    /// <param name="innerAgent">The agent.</param>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    /// <exception cref="InvalidOperationException"><paramref name="innerAgent"/> is a <see cref="ChatClientAgent"/> whose chat client does not journal model calls.</exception>
    public DurableAgent(AIAgent innerAgent, DurableAgentOptions? options = null)
        : base(innerAgent)
    {
        Options = options ?? new DurableAgentOptions();
        _turnByTurn = innerAgent.GetService<DurableChatClient>() is not null;
        if (!_turnByTurn && innerAgent.GetService<ChatClientAgent>() is not null)
        {
            throw new InvalidOperationException(
                "This ChatClientAgent's chat client does not journal model calls, so its turns and tool calls could not be journaled one by one. "
                + "Build the chat client with UseDurably() before making the agent: model.AsBuilder().UseDurably().Build().AsAIAgent(...).AsDurable().");
        }

        StepName = Options.StepName ?? (innerAgent.Name is { Length: > 0 } name ? "agent:" + name : "agent");
    }

    /// <summary>Gets the options.</summary>
    public DurableAgentOptions Options { get; }

    /// <summary>Gets the name of the model step that journals a whole invocation, for an agent that is not journaled turn by turn.</summary>
    public string StepName { get; }

    /// <summary>Gets a value indicating whether the inner agent is journaled turn by turn (its model calls go through a <see cref="DurableChatClient"/>) rather than one step per invocation.</summary>
    public bool IsJournaledTurnByTurn => _turnByTurn;

    /// <inheritdoc/>
    protected override Task<AgentResponse> RunCoreAsync(IEnumerable<ChatMessage> messages, AgentSession? session = null, AgentRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return RunContext.Current is { } run
            ? RunJournaledAsync(run, messages, session, WithDurableTools(options), cancellationToken)
            : InnerAgent.RunAsync(messages, session, options, cancellationToken);
    }

    /// <inheritdoc/>
    protected override IAsyncEnumerable<AgentResponseUpdate> RunCoreStreamingAsync(IEnumerable<ChatMessage> messages, AgentSession? session = null, AgentRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return RunContext.Current is { } run
            ? RunJournaledStreamingAsync(run, messages, session, WithDurableTools(options), cancellationToken)
            : InnerAgent.RunStreamingAsync(messages, session, options, cancellationToken);
    }

    private async Task<AgentResponse> RunJournaledAsync(RunContext run, IEnumerable<ChatMessage> messages, AgentSession? session, AgentRunOptions? options, CancellationToken cancellationToken)
    {
        var rounds = new List<AgentResponse>();
        var input = messages;
        while (true)
        {
            var response = await InvokeAsync(run, input, session, options, cancellationToken);
            rounds.Add(response);
            var requests = ApprovalRequests(response.Messages.SelectMany(m => m.Contents));
            if (requests.Count == 0)
            {
                return rounds.Count == 1 ? response : Merge(rounds);
            }

            input = await DecideAsync(run, requests);
        }
    }

    private async IAsyncEnumerable<AgentResponseUpdate> RunJournaledStreamingAsync(RunContext run, IEnumerable<ChatMessage> messages, AgentSession? session, AgentRunOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var input = messages;
        var toolMessageIds = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            var requests = new List<ToolApprovalRequestContent>();
            await foreach (var update in InvokeStreamingAsync(run, input, session, options, cancellationToken))
            {
                if (update.Role == ChatRole.Tool && _turnByTurn)
                {
                    // The function loop gives each tool-result update a fresh GUID as its id, another on every replay; the
                    // run's own GUIDs are the same on replay.
                    RenumberToolUpdate(run, update, toolMessageIds);
                }

                var asked = ApprovalRequests(update.Contents);
                if (asked.Count == 0)
                {
                    yield return update;
                    continue;
                }

                // The request is answered here, not by the caller: pass on the rest of the update.
                requests.AddRange(asked);
                var rest = update.Contents.Where(c => c is not ToolApprovalRequestContent).ToList();
                if (rest.Count > 0)
                {
                    yield return new AgentResponseUpdate(update.Role, rest)
                    {
                        AgentId = update.AgentId,
                        AuthorName = update.AuthorName,
                        MessageId = update.MessageId,
                        ResponseId = update.ResponseId,
                        CreatedAt = update.CreatedAt,
                        FinishReason = update.FinishReason,
                        AdditionalProperties = update.AdditionalProperties,
                    };
                }
            }

            if (requests.Count == 0)
            {
                yield break;
            }

            input = await DecideAsync(run, requests);
        }
    }

    private static void RenumberToolUpdate(RunContext run, AgentResponseUpdate update, Dictionary<string, string> ids)
    {
        if (update.MessageId is { } messageId)
        {
            if (!ids.TryGetValue(messageId, out var stable))
            {
                ids[messageId] = stable = run.NewGuid().ToString("N");
            }

            if (update.ResponseId == messageId)
            {
                update.ResponseId = stable;
            }

            update.MessageId = stable;
        }
    }

    private Task<AgentResponse> InvokeAsync(RunContext run, IEnumerable<ChatMessage> messages, AgentSession? session, AgentRunOptions? options, CancellationToken cancellationToken)
        => _turnByTurn
            ? InnerAgent.RunAsync(messages, session, options, cancellationToken)
            : InvokeAsOneStepAsync(run, messages, session, options, cancellationToken);

    private IAsyncEnumerable<AgentResponseUpdate> InvokeStreamingAsync(RunContext run, IEnumerable<ChatMessage> messages, AgentSession? session, AgentRunOptions? options, CancellationToken cancellationToken)
        => _turnByTurn
            ? InnerAgent.RunStreamingAsync(messages, session, options, cancellationToken)
            : InvokeStreamingAsOneStepAsync(run, messages, session, options, cancellationToken);

    private async Task<AgentResponse> InvokeAsOneStepAsync(RunContext run, IEnumerable<ChatMessage> messages, AgentSession? session, AgentRunOptions? options, CancellationToken cancellationToken)
    {
        var json = AgentAbstractionsJsonUtilities.DefaultOptions;
        var recorded = await run.StepAsync(
            StepName,
            async step =>
            {
                using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(step.CancellationToken, cancellationToken);
                var response = await InnerAgent.RunAsync(messages, session, options, cancellation.Token);
                ReportUsage(step, response.Usage);
                return JsonSerializer.SerializeToElement(response, json.GetTypeInfo(typeof(AgentResponse)));
            },
            StepOptions.Model);
        return (AgentResponse)recorded.Deserialize(json.GetTypeInfo(typeof(AgentResponse)))!;
    }

    private async IAsyncEnumerable<AgentResponseUpdate> InvokeStreamingAsOneStepAsync(RunContext run, IEnumerable<ChatMessage> messages, AgentSession? session, AgentRunOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var json = AgentAbstractionsJsonUtilities.DefaultOptions;
        var recorded = await run.StepAsync(
            StepName,
            async step =>
            {
                using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(step.CancellationToken, cancellationToken);
                var updates = new List<AgentResponseUpdate>();
                await foreach (var update in InnerAgent.RunStreamingAsync(messages, session, options, cancellation.Token))
                {
                    updates.Add(update);
                }

                ReportUsage(step, updates.ToAgentResponse().Usage);
                return JsonSerializer.SerializeToElement(updates, json.GetTypeInfo(typeof(List<AgentResponseUpdate>)));
            },
            StepOptions.Model);
        foreach (var update in (List<AgentResponseUpdate>)recorded.Deserialize(json.GetTypeInfo(typeof(List<AgentResponseUpdate>)))!)
        {
            yield return update;
        }
    }

    // Waits at one gate per request, in the order the agent asked, and answers each as the framework expects.
    private async Task<List<ChatMessage>> DecideAsync(RunContext run, List<ToolApprovalRequestContent> requests)
    {
        var answers = new List<ChatMessage>();
        foreach (var request in requests)
        {
            var decision = await run.WaitForApprovalAsync(GateFor(run, request), Options.ApprovalTimeout);
            answers.Add(new ChatMessage(ChatRole.User, [request.CreateResponse(decision.Approved, decision.Approved ? null : RejectionReason(decision))]));
        }

        return answers;
    }

    private static string RejectionReason(ApprovalDecision decision)
        => decision.Comment is { Length: > 0 } comment ? $"Rejected by {decision.Approver}: {comment}" : $"Rejected by {decision.Approver}.";

    private string GateFor(RunContext run, ToolApprovalRequestContent request)
    {
        if (Options.ApprovalGate is { } gate)
        {
            return gate(request);
        }

        var name = request.ToolCall is FunctionCallContent call && !string.IsNullOrWhiteSpace(call.Name) ? call.Name : "tool";
        var counts = GateCounts.GetOrCreateValue(run);
        lock (counts)
        {
            var n = counts[name] = counts.GetValueOrDefault(name) + 1;
            return n == 1 ? name : $"{name}#{n}";
        }
    }

    private List<ToolApprovalRequestContent> ApprovalRequests(IEnumerable<AIContent> contents)
        => Options.ApprovalGates ? [.. contents.OfType<ToolApprovalRequestContent>()] : [];

    // The caller receives what every round said, without the approval requests it does not have to answer.
    private static AgentResponse Merge(List<AgentResponse> rounds)
    {
        var messages = new List<ChatMessage>();
        foreach (var message in rounds.SelectMany(r => r.Messages))
        {
            var contents = message.Contents.Where(c => c is not ToolApprovalRequestContent).ToList();
            if (contents.Count == message.Contents.Count)
            {
                messages.Add(message);
            }
            else if (contents.Count > 0)
            {
                var kept = message.Clone();
                kept.Contents = contents;
                messages.Add(kept);
            }
        }

        var last = rounds[^1];
        var usage = new UsageDetails();
        foreach (var round in rounds.Where(r => r.Usage is not null))
        {
            usage.Add(round.Usage!);
        }

        return new AgentResponse(messages)
        {
            AgentId = last.AgentId,
            ResponseId = last.ResponseId,
            CreatedAt = last.CreatedAt,
            FinishReason = last.FinishReason,
            AdditionalProperties = last.AdditionalProperties,
            Usage = rounds.Any(r => r.Usage is not null) ? usage : null,
        };
    }

    // For one invocation, the agent's function tools become durable steps (the agent framework's own pattern for tool
    // middleware: a chat client factory that rewrites the tools of each request).
    private AgentRunOptions? WithDurableTools(AgentRunOptions? options)
    {
        if (!_turnByTurn)
        {
            return options;
        }

        ChatClientAgentRunOptions chatOptions;
        if (options is null || options.GetType() == typeof(AgentRunOptions))
        {
            chatOptions = new ChatClientAgentRunOptions
            {
                ResponseFormat = options?.ResponseFormat,
                AllowBackgroundResponses = options?.AllowBackgroundResponses,
#pragma warning disable MEAI001 // Experimental, but copied so that a background response can be continued through the durable agent.
                ContinuationToken = options?.ContinuationToken,
#pragma warning restore MEAI001
                AdditionalProperties = options?.AdditionalProperties,
            };
        }
        else if (options is ChatClientAgentRunOptions given)
        {
            chatOptions = (ChatClientAgentRunOptions)given.Clone();
        }
        else
        {
            throw new NotSupportedException($"A durable agent takes no run options or {nameof(ChatClientAgentRunOptions)}, not {options.GetType().Name}.");
        }

        var factory = chatOptions.ChatClientFactory;
        chatOptions.ChatClientFactory = client => (factory is null ? client : factory(client))
            .AsBuilder()
            .ConfigureOptions(o => o.Tools = o.Tools?.Select(MakeDurable).ToList())
            .Build();
        return chatOptions;
    }

    private AITool MakeDurable(AITool tool)
        => tool is AIFunction function && function.GetService<DurableAIFunction>() is null && function.GetService<SubAgentFunction>() is null
            ? function.AsDurable(Options.ToolOptions?.Invoke(function))
            : tool;

    private static void ReportUsage(StepContext step, UsageDetails? usage)
    {
        if (usage is not null)
        {
            step.ReportUsage(new TokenUsage(usage.InputTokenCount ?? 0, usage.OutputTokenCount ?? 0));
        }
    }
}
