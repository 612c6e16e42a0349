using System.Text.Json;
using System.Text.Json.Serialization;
using Durably.Journal;

namespace Durably.AI;

// The journaled result of a model step. Property names are never renamed; fields are only added.
// Message bodies are keyed by a hash of their JSON; "req" names the request's messages by hash, as a prefix of an
// earlier model step's conversation plus what was added. Replay reads "msgs", "res", "out" and "upd", and checks "opt".
// Version 1: no "opt"/"opts" (replay of such a record skips the chat options check). Version 2: "opt" always.
internal sealed class ModelCallRecord
{
    public const int CurrentVersion = 2;

    [JsonPropertyName("v")]
    [JsonRequired]
    public int Version { get; set; } = CurrentVersion;

    [JsonPropertyName("req")]
    [JsonRequired]
    public RequestRecord Request { get; set; } = new();

    // Bodies of the messages this step stores: its response messages, and the request messages the run had not stored yet.
    [JsonPropertyName("msgs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, JsonElement>? Bodies { get; set; }

    // The ChatResponse without its messages (non-streaming calls).
    [JsonPropertyName("res")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Response { get; set; }

    // The hashes of the response's messages, in order (non-streaming calls).
    [JsonPropertyName("out")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<string>? Output { get; set; }

    // The streamed updates, in order (streaming calls).
    [JsonPropertyName("upd")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<JsonElement>? Updates { get; set; }

    // A stream that failed after updates were passed on: the error the enumeration ends with, and the step it is reported for.
    [JsonPropertyName("err")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ErrorInfo? Error { get; set; }

    // The hash of the request's chat options (ChatOptionsFingerprint), checked on replay and by a fork's cache.
    [JsonPropertyName("opt")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Options { get; set; }

    // The chat options summary "opt" names, stored the first time the run uses it, for readers and for naming what changed.
    [JsonPropertyName("opts")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? OptionsSummary { get; set; }

    [JsonPropertyName("step")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Step { get; set; }
}

// A request as message hashes: the first Keep hashes of an earlier conversation (a model step's request then its output,
// named by the hash of its hashes), then Added. Count is the request's length, for readers to check.
internal sealed class RequestRecord
{
    [JsonPropertyName("base")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Base { get; set; }

    [JsonPropertyName("keep")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Keep { get; set; }

    [JsonPropertyName("add")]
    public List<string> Added { get; set; } = [];

    [JsonPropertyName("n")]
    public int Count { get; set; }
}
