using Durably.Journal;
using Microsoft.Extensions.AI;

namespace Durably.AI;

/// <summary>Describes one model step of a run as its journal records it: the request sent, and the response or updates received.</summary>
/// <param name="Step">The step's number.</param>
/// <param name="Name">The step's name.</param>
/// <param name="Request">The request's messages, or <see langword="null"/> when the journal does not hold them all (see <see cref="ModelCallReader"/>).</param>
/// <param name="Response">The response of a non-streaming call, as replay returns it.</param>
/// <param name="Updates">The updates of a streaming call, as replay yields them.</param>
/// <param name="Usage">The tokens the call used, when reported.</param>
public sealed record JournaledModelCall(
    int Step,
    string Name,
    IReadOnlyList<ChatMessage>? Request,
    ChatResponse? Response,
    IReadOnlyList<ChatResponseUpdate>? Updates,
    TokenUsage? Usage);
