using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Durably.Testing;

/// <summary>Answers chat requests from a script: deterministic responses with text, tool calls and token usage, streamed as updates when asked.</summary>
/// <remarks>
/// <para>A stand-in for a model in tests and offline demos. The script is a callback that sees each request
/// (<see cref="ScriptedChatCall"/>) and returns the response, or a list of responses picked by the conversation's
/// <see cref="ScriptedChatCall.Turn"/> (the number of assistant messages in the request), which a recovered run reaches
/// again after a restart.</para>
/// <para>Each call gets its own copy of the scripted response, completed deterministically: a model id, a response id
/// derived from the request, a finish reason (<see cref="ChatFinishReason.ToolCalls"/> when it calls tools) and, unless
/// <see cref="EstimateUsage"/> is off, usage estimated at one token per four characters of JSON. A streaming call splits
/// the response into updates of <see cref="WordsPerUpdate"/> words, one update per non-text content, and a last update
/// with the usage. Thread-safe.</para>
/// </remarks>
public sealed class ScriptedChatClient : IChatClient
{
    private readonly Func<ScriptedChatCall, CancellationToken, Task<ChatResponse>> _respond;
    private readonly List<ScriptedChatCall> _calls = [];

    /// <summary>Creates a client whose responses come from an asynchronous callback (which can, for example, wait for a test's signal).</summary>
    public ScriptedChatClient(Func<ScriptedChatCall, CancellationToken, Task<ChatResponse>> respond)
    {
        ArgumentNullException.ThrowIfNull(respond);
        _respond = respond;
    }

    /// <summary>Creates a client whose responses come from a callback.</summary>
    public ScriptedChatClient(Func<ScriptedChatCall, ChatResponse> respond)
        : this((call, _) => Task.FromResult((respond ?? throw new ArgumentNullException(nameof(respond)))(call)))
    {
    }

    /// <summary>Creates a client that answers the n-th turn of a conversation (a request with n assistant messages) with the n-th response.</summary>
    /// <exception cref="InvalidOperationException">Thrown by a call when the script has no response for its turn.</exception>
    public ScriptedChatClient(params IEnumerable<ChatResponse> responses)
        : this(ByTurn([.. responses ?? throw new ArgumentNullException(nameof(responses))]))
    {
    }

    /// <summary>Gets the model id reported in responses that do not set one. Default <c>scripted-model</c>.</summary>
    public string ModelId { get; init; } = "scripted-model";

    /// <summary>Gets a value indicating whether responses without usage get an estimate (one token per four characters of JSON). Default <see langword="true"/>.</summary>
    public bool EstimateUsage { get; init; } = true;

    /// <summary>Gets how many words of text a streamed update carries. Default 3.</summary>
    public int WordsPerUpdate { get; init; } = 3;

    /// <summary>Gets the requests received so far, in order.</summary>
    public IReadOnlyList<ScriptedChatCall> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Gets the number of requests received so far.</summary>
    public int CallCount
    {
        get
        {
            lock (_calls)
            {
                return _calls.Count;
            }
        }
    }

    /// <summary>Creates a response with one assistant message of text.</summary>
    public static ChatResponse Reply(string text) => new(new ChatMessage(ChatRole.Assistant, text));

    /// <summary>Creates a response with one assistant message that calls tools.</summary>
    public static ChatResponse CallTools(params IEnumerable<FunctionCallContent> calls) => new(new ChatMessage(ChatRole.Assistant, [.. calls]));

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var call = Receive(messages, options, streaming: false);
        return Complete(await _respond(call, cancellationToken), call);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var call = Receive(messages, options, streaming: true);
        var response = Complete(await _respond(call, cancellationToken), call);
        ChatResponseUpdate Update(ChatMessage? message, string messageId, AIContent content) => new(message?.Role ?? ChatRole.Assistant, [content])
        {
            MessageId = messageId,
            ResponseId = response.ResponseId,
            ModelId = response.ModelId,
            AuthorName = message?.AuthorName,
        };

        var updates = new List<ChatResponseUpdate>();
        for (var i = 0; i < response.Messages.Count; i++)
        {
            var message = response.Messages[i];
            var messageId = message.MessageId ?? $"{response.ResponseId}-{i}";
            foreach (var content in message.Contents)
            {
                if (content is TextContent text)
                {
                    updates.AddRange(Chunks(text.Text).Select(chunk => Update(message, messageId, new TextContent(chunk))));
                }
                else
                {
                    updates.Add(Update(message, messageId, content));
                }
            }
        }

        if (response.Usage is { } usage)
        {
            // Part of the last message, as OpenAI-compatible streams send it, so it adds no message of its own.
            updates.Add(Update(response.Messages.LastOrDefault(), updates.LastOrDefault()?.MessageId ?? $"{response.ResponseId}-0", new UsageContent(usage)));
        }

        if (updates.Count > 0)
        {
            updates[^1].FinishReason = response.FinishReason;
        }

        foreach (var update in updates)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return update;
        }
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("scripted", null, ModelId)
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private static Func<ScriptedChatCall, ChatResponse> ByTurn(ChatResponse[] responses) => call =>
        call.Turn < responses.Length
            ? responses[call.Turn]
            : throw new InvalidOperationException($"The script has {responses.Length} responses and has none for turn {call.Turn} (a request with {call.Turn} assistant messages).");

    private ScriptedChatCall Receive(IEnumerable<ChatMessage> messages, ChatOptions? options, bool streaming)
    {
        ArgumentNullException.ThrowIfNull(messages);
        lock (_calls)
        {
            var call = new ScriptedChatCall(_calls.Count, [.. messages], options, streaming);
            _calls.Add(call);
            return call;
        }
    }

    // A fresh copy of the scripted response (callers such as tool loops modify what they get), completed deterministically.
    private ChatResponse Complete(ChatResponse scripted, ScriptedChatCall call)
    {
        ArgumentNullException.ThrowIfNull(scripted);
        var json = AIJsonUtilities.DefaultOptions;
        var response = JsonSerializer.Deserialize<ChatResponse>(JsonSerializer.SerializeToUtf8Bytes(scripted, json), json)!;
        var request = JsonSerializer.SerializeToUtf8Bytes(call.Messages, json);
        response.ModelId ??= ModelId;
        response.ResponseId ??= "resp-" + Convert.ToHexStringLower(SHA256.HashData(request))[..12];
        response.FinishReason ??= response.Messages.Any(m => m.Contents.OfType<FunctionCallContent>().Any()) ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop;
        if (response.Usage is null && EstimateUsage)
        {
            response.Usage = new UsageDetails
            {
                InputTokenCount = Tokens(request.Length),
                OutputTokenCount = Tokens(JsonSerializer.SerializeToUtf8Bytes(response.Messages, json).Length),
            };
            response.Usage.TotalTokenCount = response.Usage.InputTokenCount + response.Usage.OutputTokenCount;
        }

        return response;
    }

    private static long Tokens(int characters) => Math.Max(1, (characters + 3) / 4);

    // Splits where a run of whitespace ends, so the chunks concatenate back to the text exactly.
    private IEnumerable<string> Chunks(string text)
    {
        var perUpdate = Math.Max(1, WordsPerUpdate);
        var start = 0;
        var words = 0;
        for (var i = 1; i < text.Length; i++)
        {
            if (char.IsWhiteSpace(text[i - 1]) && !char.IsWhiteSpace(text[i]) && ++words == perUpdate)
            {
                yield return text[start..i];
                start = i;
                words = 0;
            }
        }

        yield return text[start..];
    }
}
