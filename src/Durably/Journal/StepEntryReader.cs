using System.Collections.Frozen;
using System.Text;
using System.Text.Json;

namespace Durably.Journal;

// Reads the two entries a replay is made of (step.started, step.completed) straight off the bytes, as the journal's
// own writer writes them. Anything it does not expect (another entry type, an unknown or repeated property, an
// escaped name, a value of another JSON type, a payload that is not a scalar, trailing bytes) makes it give up and
// return null, and the serializer's contract reads the entry: so what it returns is always what the contract would
// return, and every error is the contract's. It exists because the contract's polymorphic read was most of the time
// a replay took (a test compares the two on every entry type and on damaged variants).
internal static class StepEntryReader
{
    private static readonly FrozenDictionary<string, StepKind> Kinds = EnumNames<StepKind>();
    private static readonly FrozenDictionary<string, InDoubtPolicy> Policies = EnumNames<InDoubtPolicy>();

    public static JournalEntry? TryRead(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject
                || !reader.Read() || reader.TokenType != JsonTokenType.PropertyName || reader.ValueIsEscaped || !reader.ValueTextEquals("type"u8)
                || !reader.Read() || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
            {
                return null;
            }

            if (reader.ValueTextEquals("step.completed"u8))
            {
                return ReadCompleted(ref reader);
            }

            return reader.ValueTextEquals("step.started"u8) ? ReadStarted(ref reader) : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            // Malformed, or a value out of range: the contract reads it again and reports it in its own words.
            return null;
        }
    }

    private static StepCompleted? ReadCompleted(ref Utf8JsonReader reader)
    {
        var seen = 0;
        int version = JournalSerializer.CurrentFormatVersion, step = 0, attempt = 1;
        int? span = null;
        long sequence = 0;
        var at = default(DateTimeOffset);
        Payload? result = null;
        double? duration = null;
        string? resolvedBy = null;
        while (NextProperty(ref reader, out var done))
        {
            if (done)
            {
                // v, seq, at, step and att: what the writer always writes (where one is missing the contract's
                // defaults apply, which are not the properties' initializers: the contract reads those entries).
                const int Written = 1 << 0 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 5;
                return (seen & Written) != Written || !AtEnd(ref reader) ? null : new StepCompleted
                {
                    FormatVersion = version,
                    Sequence = sequence,
                    Timestamp = at,
                    Step = step,
                    Result = result,
                    Attempt = attempt,
                    DurationMs = duration,
                    Span = span,
                    ResolvedBy = resolvedBy,
                };
            }

            var ok = Property(ref reader, ref seen, ref version, ref sequence, ref at, ref step, out var known) || !known && (
                reader.ValueTextEquals("res"u8) ? Once(ref seen, 4) && ReadPayload(ref reader, out result)
                : reader.ValueTextEquals("att"u8) ? Once(ref seen, 5) && ReadInt(ref reader, out attempt)
                : reader.ValueTextEquals("ms"u8) ? Once(ref seen, 6) && ReadNullableDouble(ref reader, out duration)
                : reader.ValueTextEquals("span"u8) ? Once(ref seen, 7) && ReadNullableInt(ref reader, out span)
                : reader.ValueTextEquals("by"u8) && Once(ref seen, 8) && ReadNullableString(ref reader, out resolvedBy));
            if (!ok)
            {
                return null;
            }
        }

        return null;
    }

    private static StepStarted? ReadStarted(ref Utf8JsonReader reader)
    {
        var seen = 0;
        int version = JournalSerializer.CurrentFormatVersion, step = 0, attempt = 1;
        long sequence = 0;
        var at = default(DateTimeOffset);
        StepKind kind = default;
        string? name = null, key = null, hash = null;
        InDoubtPolicy? inDoubt = null;
        while (NextProperty(ref reader, out var done))
        {
            if (done)
            {
                // v, seq, at, step, kind, name and att: what the writer always writes (see ReadCompleted).
                const int Written = 1 << 0 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 8;
                return (seen & Written) != Written || name is null || !AtEnd(ref reader) ? null : new StepStarted
                {
                    FormatVersion = version,
                    Sequence = sequence,
                    Timestamp = at,
                    Step = step,
                    Kind = kind,
                    Name = name,
                    IdempotencyKey = key,
                    ArgumentHash = hash,
                    Attempt = attempt,
                    InDoubt = inDoubt,
                };
            }

            var ok = Property(ref reader, ref seen, ref version, ref sequence, ref at, ref step, out var known) || !known && (
                reader.ValueTextEquals("kind"u8) ? Once(ref seen, 4) && ReadEnum(ref reader, Kinds, out kind)
                : reader.ValueTextEquals("name"u8) ? Once(ref seen, 5) && ReadString(ref reader, out name)
                : reader.ValueTextEquals("key"u8) ? Once(ref seen, 6) && ReadNullableString(ref reader, out key)
                : reader.ValueTextEquals("hash"u8) ? Once(ref seen, 7) && ReadNullableString(ref reader, out hash)
                : reader.ValueTextEquals("att"u8) ? Once(ref seen, 8) && ReadInt(ref reader, out attempt)
                : reader.ValueTextEquals("indoubt"u8) && Once(ref seen, 9) && ReadNullableEnum(ref reader, Policies, out inDoubt));
            if (!ok)
            {
                return null;
            }
        }

        return null;
    }

    // The properties every entry has (v, seq, at) and step. Returns true when it read one; known says whether the
    // name was one of them (then false means the value was not one the fast path takes).
    private static bool Property(ref Utf8JsonReader reader, ref int seen, ref int version, ref long sequence, ref DateTimeOffset at, ref int step, out bool known)
    {
        known = true;
        if (reader.ValueTextEquals("v"u8))
        {
            return Once(ref seen, 0) && ReadInt(ref reader, out version);
        }

        if (reader.ValueTextEquals("seq"u8))
        {
            return Once(ref seen, 1) && ReadLong(ref reader, out sequence);
        }

        if (reader.ValueTextEquals("at"u8))
        {
            if (!Once(ref seen, 2) || !ReadLong(ref reader, out var ms))
            {
                return false;
            }

            at = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            return true;
        }

        if (reader.ValueTextEquals("step"u8))
        {
            return Once(ref seen, 3) && ReadInt(ref reader, out step);
        }

        known = false;
        return false;
    }

    // Moves to the next property name (false: give up), or to the end of the object (done).
    private static bool NextProperty(ref Utf8JsonReader reader, out bool done)
    {
        done = false;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.EndObject)
        {
            done = true;
            return true;
        }

        return reader.TokenType == JsonTokenType.PropertyName && !reader.ValueIsEscaped;
    }

    private static bool AtEnd(ref Utf8JsonReader reader) => !reader.Read();

    private static bool Once(ref int seen, int bit)
    {
        if ((seen & 1 << bit) != 0)
        {
            return false;
        }

        seen |= 1 << bit;
        return true;
    }

    private static bool ReadInt(ref Utf8JsonReader reader, out int value)
    {
        value = 0;
        return reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out value);
    }

    private static bool ReadLong(ref Utf8JsonReader reader, out long value)
    {
        value = 0;
        return reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value);
    }

    private static bool ReadNullableInt(ref Utf8JsonReader reader, out int? value)
    {
        value = null;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var v))
        {
            return false;
        }

        value = v;
        return true;
    }

    private static bool ReadNullableDouble(ref Utf8JsonReader reader, out double? value)
    {
        value = null;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var v))
        {
            return false;
        }

        value = v;
        return true;
    }

    private static bool ReadString(ref Utf8JsonReader reader, out string? value)
    {
        value = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.String)
        {
            return false;
        }

        value = reader.GetString();
        return true;
    }

    private static bool ReadNullableString(ref Utf8JsonReader reader, out string? value)
    {
        value = null;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            return false;
        }

        value = reader.GetString();
        return true;
    }

    // Only the names the writer writes, spelled as it spells them; any other spelling goes to the contract.
    private static bool ReadEnum<T>(ref Utf8JsonReader reader, FrozenDictionary<string, T> names, out T value)
        where T : struct, Enum
    {
        value = default;
        return reader.Read() && reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped
               && names.TryGetValue(Encoding.UTF8.GetString(reader.ValueSpan), out value);
    }

    private static bool ReadNullableEnum<T>(ref Utf8JsonReader reader, FrozenDictionary<string, T> names, out T? value)
        where T : struct, Enum
    {
        value = null;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || !names.TryGetValue(Encoding.UTF8.GetString(reader.ValueSpan), out var v))
        {
            return false;
        }

        value = v;
        return true;
    }

    // A scalar payload, read as the payload converter reads it; null, objects and arrays go to the contract.
    private static bool ReadPayload(ref Utf8JsonReader reader, out Payload? value)
    {
        value = null;
        return reader.Read() && (value = PayloadJsonConverter.TryReadScalar(ref reader)) is not null;
    }

    // Each value's name as the journal's contract writes it ("compute" for StepKind.Compute).
    private static FrozenDictionary<string, T> EnumNames<T>()
        where T : struct, Enum
    {
        var info = JournalJsonContext.Default.GetTypeInfo(typeof(T)) ?? throw new InvalidOperationException($"The journal contract has no {typeof(T).Name}.");
        // Written as a JSON string of plain ASCII ("\"compute\""): the name is what lies between the quotes.
        return Enum.GetValues<T>().ToFrozenDictionary(v => Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(v, info))[1..^1], v => v);
    }
}
