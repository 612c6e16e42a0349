using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Durably.AI;

// What one activation of a run knows its journal holds: message bodies stored by earlier model steps, and the
// recent conversations (request then response message hashes) a new request can be recorded against.
// Replay never depends on it: each model step's record holds every body its response needs.
internal sealed class ConversationLedger
{
    // A new request usually extends the latest conversation; a few more candidates cover interleaved conversations.
    private const int Candidates = 8;
    private const int Remembered = 32;

    private static readonly ConditionalWeakTable<RunContext, ConversationLedger> Ledgers = new();

    private readonly Lock _gate = new();
    private readonly HashSet<string> _stored = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonElement> _options = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Id, string[] Hashes)> _conversations = new();

    public static ConversationLedger For(RunContext run) => Ledgers.GetValue(run, static _ => new ConversationLedger());

    // Builds a live model call's record: the request by reference where the journal holds it, only new bodies stored.
    public ModelCallRecord Record(PreparedRequest request, bool deduplicate, JsonSerializerOptions options, ChatResponse? response, List<JsonElement>? updates)
    {
        var chatOptions = request.Options;
        var bodies = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        List<string>? output = null;
        if (response is not null)
        {
            // Response messages are always stored with the step, so that replaying it needs nothing else.
            output = new List<string>(response.Messages.Count);
            foreach (var message in response.Messages)
            {
                var body = JsonSerializer.SerializeToElement(message, options);
                var hash = ChatJson.Hash(body);
                bodies.TryAdd(hash, body);
                output.Add(hash);
            }
        }

        var described = new RequestRecord { Count = request.Hashes.Length };
        var keep = 0;
        lock (_gate)
        {
            if (deduplicate)
            {
                (described.Base, keep) = FindBase(request.Hashes);
                described.Keep = described.Base is null ? null : keep;
            }

            for (var i = 0; i < request.Hashes.Length; i++)
            {
                if (!deduplicate || !_stored.Contains(request.Hashes[i]))
                {
                    bodies.TryAdd(request.Hashes[i], request.Bodies[i]);
                }
            }
        }

        bool optionsStored;
        lock (_gate)
        {
            optionsStored = deduplicate && _options.ContainsKey(chatOptions.Hash);
        }

        described.Added = [.. request.Hashes.Skip(keep)];
        return new ModelCallRecord
        {
            Options = chatOptions.Hash,
            OptionsSummary = optionsStored ? null : chatOptions.Summary,
            Request = described,
            Bodies = bodies.Count == 0 ? null : bodies,
            Response = response is null ? null : ChatJson.Skeleton(response, options),
            Output = output,
            Updates = updates,
        };
    }

    // Notes what a model step's record put in the journal, after it returned (executed or replayed).
    public void Remember(PreparedRequest request, ModelCallRecord record)
    {
        string[] conversation = [.. request.Hashes, .. record.Output ?? []];
        var id = ChatJson.HashOfHashes(conversation);
        lock (_gate)
        {
            if (record.Bodies is not null)
            {
                _stored.UnionWith(record.Bodies.Keys);
            }

            if (record is { Options: { } hash, OptionsSummary: { } summary })
            {
                _options.TryAdd(hash, summary);
            }

            _conversations.AddFirst((id, conversation));
            if (_conversations.Count > Remembered)
            {
                _conversations.RemoveLast();
            }
        }
    }

    // The summary of chat options an earlier model step of this activation journaled, for naming what changed.
    public JsonElement? OptionsSummary(string hash)
    {
        lock (_gate)
        {
            return _options.TryGetValue(hash, out var summary) ? summary : null;
        }
    }

    private (string? Id, int Keep) FindBase(string[] hashes)
    {
        (string? Id, int Keep) best = (null, 0);
        foreach (var (id, conversation) in _conversations.Take(Candidates))
        {
            var common = 0;
            var limit = Math.Min(conversation.Length, hashes.Length);
            while (common < limit && string.Equals(conversation[common], hashes[common], StringComparison.Ordinal))
            {
                common++;
            }

            if (common > best.Keep)
            {
                best = (id, common);
            }
        }

        return best;
    }
}
