using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Durably.AI;

// Serializes chat messages, responses and updates for the journal and names message bodies by content hash.
internal static class ChatJson
{
    // 64 bits of SHA-256 as 16 hex digits: collisions within one run's conversation are vanishingly unlikely.
    private const int HashBytes = 8;

    // AIJsonUtilities.DefaultOptions writes indented JSON; the journal needs no whitespace.
    public static JsonSerializerOptions DefaultOptions { get; } = Compact();

    private static JsonSerializerOptions Compact()
    {
        var options = new JsonSerializerOptions(AIJsonUtilities.DefaultOptions) { WriteIndented = false };
        options.MakeReadOnly();
        return options;
    }

    public static string Hash(ReadOnlySpan<byte> utf8)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8, hash);
        return Convert.ToHexStringLower(hash[..HashBytes]);
    }

    // Hashes a list of hashes (all of one length, so no separator is needed).
    public static string HashOfHashes(IEnumerable<string> hashes) => Hash(Encoding.ASCII.GetBytes(string.Concat(hashes)));

    public static string Hash(JsonElement element) => Hash(JsonMarshal.GetRawUtf8Value(element));

    // Serializes the request's messages once, naming each by the hash of its JSON.
    public static PreparedRequest Prepare(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions, JsonSerializerOptions options, bool fingerprint)
    {
        List<ChatMessage> list = [.. messages];
        var hashes = new string[list.Count];
        var bodies = new JsonElement[list.Count];
        var normalized = fingerprint ? new string[list.Count] : null;
        for (var i = 0; i < list.Count; i++)
        {
            var message = list[i] ?? throw new ArgumentException($"The message at index {i} is null.", nameof(messages));
            bodies[i] = JsonSerializer.SerializeToElement(message, options);
            hashes[i] = Hash(bodies[i]);
            if (normalized is not null)
            {
                normalized[i] = message.MessageId is null && message.CreatedAt is null ? hashes[i] : NormalizedHash(message, options);
            }
        }

        return new PreparedRequest(list, hashes, bodies, normalized is null ? null : HashOfHashes(normalized), ChatOptionsFingerprint.Of(chatOptions, options));
    }

    // Message ids and timestamps are left out of the fingerprint: some clients (FunctionInvokingChatClient's streaming
    // tool messages, for one) generate them afresh on every execution, so they would differ on every replay.
    private static string NormalizedHash(ChatMessage message, JsonSerializerOptions options)
    {
        var copy = message.Clone();
        copy.MessageId = null;
        copy.CreatedAt = null;
        return Hash(JsonSerializer.SerializeToUtf8Bytes(copy, options));
    }

    public static ChatMessage ToMessage(JsonElement body, JsonSerializerOptions options)
        => body.Deserialize<ChatMessage>(options) ?? throw new JsonException("A journaled chat message is null.");

    public static ChatResponseUpdate ToUpdate(JsonElement body, JsonSerializerOptions options)
        => body.Deserialize<ChatResponseUpdate>(options) ?? throw new JsonException("A journaled chat response update is null.");

    // The response without its messages, which are journaled by hash.
    public static JsonElement Skeleton(ChatResponse response, JsonSerializerOptions options)
    {
        var node = JsonSerializer.SerializeToNode(response, options)!.AsObject();
        foreach (var name in node.Select(p => p.Key).Where(k => string.Equals(k, "messages", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            node.Remove(name);
        }

        return JsonSerializer.SerializeToElement(node, options);
    }

    // Rebuilds the response a model step returned: the same on its first execution as on every replay.
    public static ChatResponse ToResponse(ModelCallRecord record, JsonSerializerOptions options)
    {
        if (record.Response is not { } skeleton || record.Output is null)
        {
            throw new JsonException("The journaled model call has no response; was it recorded by a streaming call?");
        }

        var response = skeleton.Deserialize<ChatResponse>(options) ?? throw new JsonException("A journaled chat response is null.");
        response.Messages = [.. record.Output.Select(hash => ToMessage(Body(record, hash), options))];
        return response;
    }

    private static JsonElement Body(ModelCallRecord record, string hash)
        => record.Bodies is not null && record.Bodies.TryGetValue(hash, out var body)
            ? body
            : throw new JsonException($"The journaled model call refers to message {hash} but does not hold its body.");
}

// A request's messages with their hashes and JSON bodies, the messages' fingerprint checked on replay, and its chat options.
internal sealed record PreparedRequest(List<ChatMessage> Messages, string[] Hashes, JsonElement[] Bodies, string? Fingerprint, (string Hash, JsonElement Summary) Options);
