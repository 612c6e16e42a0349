using System.Text.Json;
using System.Text.Json.Serialization;

namespace Durably.Agents.Workflows;

// One checkpoint as its step's result: id and parent first, so the index reads them without keeping the value.
internal sealed record CheckpointRecord(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("parent")] string? Parent,
    [property: JsonPropertyName("value")] JsonElement Value);

// The part of a CheckpointRecord the index needs; the value is skipped while reading.
internal sealed record CheckpointHeader(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("parent")] string? Parent);

// The input of a session's run: which session it holds, so a hashed run id is checked against the session asked for.
internal sealed record SessionInput([property: JsonPropertyName("session")] string Session);
