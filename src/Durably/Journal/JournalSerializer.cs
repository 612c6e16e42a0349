using System.Text.Json;
using System.Text.Json.Serialization;

namespace Durably.Journal;

/// <summary>Reads and writes journal entries in the versioned JSON wire format.</summary>
/// <remarks>
/// Every entry is one JSON object: <c>{"type":"step.completed","v":1,"seq":3,"at":1764134694123,...}</c>.
/// <c>type</c> names the entry kind and never changes meaning; <c>v</c> is the format version.
/// A reader rejects entries from a newer format version with <see cref="JournalFormatException"/>
/// instead of guessing. Thread-safe.
/// </remarks>
public static class JournalSerializer
{
    /// <summary>The format version this build writes and the newest it reads.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>Serializes one entry to UTF-8 JSON.</summary>
    public static byte[] Serialize(JournalEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return JsonSerializer.SerializeToUtf8Bytes(entry, JournalJsonContext.Default.JournalEntry);
    }

    /// <summary>Writes one entry as UTF-8 JSON to <paramref name="writer"/>.</summary>
    public static void Serialize(Utf8JsonWriter writer, JournalEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        JsonSerializer.Serialize(writer, entry, JournalJsonContext.Default.JournalEntry);
    }

    /// <summary>Deserializes one entry from UTF-8 JSON.</summary>
    /// <exception cref="JournalFormatException">The bytes are not an entry this version can read: malformed, of an unknown type, or from a newer format version.</exception>
    public static JournalEntry Deserialize(ReadOnlySpan<byte> utf8Json)
    {
        JournalEntry? entry;
        try
        {
            entry = JsonSerializer.Deserialize(utf8Json, JournalJsonContext.Default.JournalEntry);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            var newer = PeekVersion(utf8Json);
            if (newer > CurrentFormatVersion)
            {
                throw NewerVersion(newer);
            }

            throw new JournalFormatException($"A journal entry could not be read: {ex.Message} If the journal was written by a newer version of Durably, upgrade this one.", ex);
        }

        if (entry is null)
        {
            throw new JournalFormatException("A journal entry is the JSON literal null.");
        }

        if (entry.FormatVersion > CurrentFormatVersion)
        {
            throw NewerVersion(entry.FormatVersion);
        }

        return entry;
    }

    private static JournalFormatException NewerVersion(int version)
        => new($"A journal entry was written in format version {version}; this version of Durably reads versions up to {CurrentFormatVersion}. Upgrade Durably to read this journal.")
        {
            FormatVersion = version,
        };

    private static int PeekVersion(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return 0;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isVersion = reader.ValueTextEquals("v");
                reader.Read();
                if (isVersion && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var v))
                {
                    return v;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return 0;
    }
}

[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    AllowOutOfOrderMetadataProperties = true,
    MaxDepth = global::Durably.Journal.Payload.MaxJsonDepth + 16)]
[JsonSerializable(typeof(JournalEntry))]
internal sealed partial class JournalJsonContext : JsonSerializerContext;
