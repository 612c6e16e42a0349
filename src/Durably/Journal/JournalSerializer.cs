using System.Buffers;
using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

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

    // For each entry type: the start of its JSON up to the discriminator ("{"type":"step.started",") and its own
    // contract. Serializing through the polymorphic base contract costs a serializer stack array per entry; writing
    // the discriminator here and the entry with its own contract gives the same bytes without it (a test compares).
    private static readonly FrozenDictionary<Type, (byte[] Prefix, JsonTypeInfo Contract)> Concrete = BuildConcrete();

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>Serializes one entry to UTF-8 JSON.</summary>
    public static byte[] Serialize(JournalEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!Concrete.TryGetValue(entry.GetType(), out var concrete))
        {
            // Not a journal entry type: the base contract refuses it with its own message.
            return JsonSerializer.SerializeToUtf8Bytes(entry, JournalJsonContext.Default.JournalEntry);
        }

        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        writer.Reset(buffer);
        try
        {
            JsonSerializer.Serialize(writer, entry, concrete.Contract);
            writer.Flush();
            var body = buffer.WrittenSpan;

            // The entry's own object starts with '{' and holds at least "v": splice the discriminator in after the '{'.
            var json = new byte[concrete.Prefix.Length + body.Length - 1];
            concrete.Prefix.CopyTo(json, 0);
            body[1..].CopyTo(json.AsSpan(concrete.Prefix.Length));
            return json;
        }
        finally
        {
            if (buffer.Capacity > 64 * 1024)
            {
                // Do not keep a large entry's buffer alive on this thread.
                t_buffer = null;
            }
        }
    }

    private static JsonWriterOptions WriterOptions => new()
    {
        Encoder = JournalJsonContext.Default.Options.Encoder,
        MaxDepth = JournalJsonContext.Default.Options.MaxDepth,
    };

    private static FrozenDictionary<Type, (byte[] Prefix, JsonTypeInfo Contract)> BuildConcrete()
    {
        var context = JournalJsonContext.Default;
        var polymorphism = context.JournalEntry.PolymorphismOptions!;
        var entries = new Dictionary<Type, (byte[], JsonTypeInfo)>();
        foreach (var derived in polymorphism.DerivedTypes)
        {
            var buffer = new ArrayBufferWriter<byte>(64);
            using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            {
                writer.WriteStartObject();
                writer.WriteString(polymorphism.TypeDiscriminatorPropertyName, (string)derived.TypeDiscriminator!);
                writer.Flush();
            }

            byte[] prefix = [.. buffer.WrittenSpan, (byte)','];
            entries.Add(derived.DerivedType, (prefix, context.GetTypeInfo(derived.DerivedType)!));
        }

        return entries.ToFrozenDictionary();
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
            // The steps a replay reads are read without the polymorphic contract when they look as written.
            entry = StepEntryReader.TryRead(utf8Json) ?? JsonSerializer.Deserialize(utf8Json, JournalJsonContext.Default.JournalEntry);
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
