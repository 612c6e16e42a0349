using Microsoft.Extensions.AI;

namespace Durably.Testing;

/// <summary>Is one request a <see cref="ScriptedChatClient"/> received.</summary>
/// <param name="Index">The request's position among the requests this client instance received, from 0.</param>
/// <param name="Messages">The request's messages.</param>
/// <param name="Options">The request's options.</param>
/// <param name="Streaming">Whether the request was a streaming one.</param>
public sealed record ScriptedChatCall(int Index, IReadOnlyList<ChatMessage> Messages, ChatOptions? Options, bool Streaming)
{
    /// <summary>Gets the number of assistant messages in the request: the conversation's turn, which (unlike <see cref="Index"/>) is the same when a recovered run asks again.</summary>
    public int Turn => Messages.Count(m => m.Role == ChatRole.Assistant);
}
