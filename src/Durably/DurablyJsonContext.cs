using System.Text.Json;
using System.Text.Json.Serialization;

namespace Durably;

// Source-generated JSON metadata for the runtime's own payloads (a child's report to its parent, an approval's decision, an
// in-doubt resolution, a cancel reason or error message, a recorded time, a run id, the JSON view of an encoded payload), so
// the runtime serializes them without reflection (trimmed and native AOT applications). Web defaults, as these payloads were
// written with JsonSerializerOptions.Web; their properties name themselves, so the bytes are the same. JsonPayloadCodec falls
// back to it, so the runtime's types pass through a codec whose resolver knows only the application's types.
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ChildOutcome))]
[JsonSerializable(typeof(ApprovalPayload))]
[JsonSerializable(typeof(ResolutionPayload))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(JsonElement?))]
internal sealed partial class DurablyJsonContext : JsonSerializerContext;
