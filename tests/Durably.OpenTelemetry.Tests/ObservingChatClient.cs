using Microsoft.Extensions.AI;

namespace Durably.OpenTelemetry.Tests;

// Passes calls on to the model and tells the test each time one reaches it.
internal sealed class ObservingChatClient(IChatClient inner, Action called) : DelegatingChatClient(inner)
{
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        called();
        return base.GetResponseAsync(messages, options, cancellationToken);
    }
}
