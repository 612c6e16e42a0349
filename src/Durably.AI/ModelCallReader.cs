using System.Text.Json;
using Durably.Codecs;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.AI;

namespace Durably.AI;

/// <summary>Reads the model calls a <see cref="DurableChatClient"/> journaled for a run, with each request rebuilt from the messages stored once.</summary>
/// <remarks>
/// For tools that show or export a run's conversation. A request is rebuilt from message bodies and conversations recorded by
/// earlier model steps of the run; it is <see langword="null"/> when the journal does not hold them, which happens only when
/// those steps were not journaled (model calls inside a phase under <see cref="CheckpointPolicy.PlanStep"/>). Replay never
/// needs requests.
/// </remarks>
public static class ModelCallReader
{
    /// <summary>Reads a run's journaled model calls in journal order.</summary>
    /// <param name="store">The journal store.</param>
    /// <param name="runId">The run.</param>
    /// <param name="codec">The codec the run's runtime uses; <see cref="JsonPayloadCodec.Default"/> when <see langword="null"/>.</param>
    /// <param name="serializerOptions">The chat client's serializer options; the default of <see cref="DurableChatClientOptions.SerializerOptions"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    public static async Task<IReadOnlyList<JournaledModelCall>> ReadAsync(IJournalStore store, RunId runId, IPayloadCodec? codec = null, JsonSerializerOptions? serializerOptions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        codec ??= JsonPayloadCodec.Default;
        var json = serializerOptions ?? ChatJson.DefaultOptions;
        var entries = await store.ReadAsync(runId, 0, cancellationToken).ConfigureAwait(false);
        var names = new Dictionary<int, string>();
        var bodies = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var conversations = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var calls = new List<JournaledModelCall>();
        foreach (var entry in entries)
        {
            switch (entry)
            {
                case StepStarted { Kind: StepKind.Model } started:
                    names[started.Step] = started.Name;
                    break;
                case StepCompleted { Result: { } result } completed when names.TryGetValue(completed.Step, out var name):
                    var record = TryDecode(codec, result);
                    if (record is null)
                    {
                        // A model step written by other code than the chat client.
                        break;
                    }

                    foreach (var (hash, body) in record.Bodies ?? [])
                    {
                        bodies.TryAdd(hash, body);
                    }

                    var hashes = ResolveRequest(record.Request, conversations);
                    if (hashes is not null)
                    {
                        string[] conversation = [.. hashes, .. record.Output ?? []];
                        conversations.TryAdd(ChatJson.HashOfHashes(conversation), conversation);
                    }

                    calls.Add(new JournaledModelCall(
                        completed.Step,
                        name,
                        hashes is not null && hashes.All(bodies.ContainsKey) ? [.. hashes.Select(h => ChatJson.ToMessage(bodies[h], json))] : null,
                        record.Response is null ? null : ChatJson.ToResponse(record, json),
                        record.Updates?.Select(u => ChatJson.ToUpdate(u, json)).ToList(),
                        completed.Usage));
                    break;
            }
        }

        return calls;
    }

    private static string[]? ResolveRequest(RequestRecord request, Dictionary<string, string[]> conversations)
    {
        if (request.Base is null)
        {
            return [.. request.Added];
        }

        if (!conversations.TryGetValue(request.Base, out var conversation) || request.Keep is not { } keep || keep > conversation.Length)
        {
            return null;
        }

        string[] hashes = [.. conversation.Take(keep), .. request.Added];
        return hashes.Length == request.Count ? hashes : null;
    }

    internal static ModelCallRecord? TryDecode(IPayloadCodec codec, Payload payload)
    {
        try
        {
            return codec.Decode<ModelCallRecord>(payload) is { Version: >= 1 } record ? record : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
