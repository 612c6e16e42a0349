using System.Text.Json;
using System.Text.Json.Serialization;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Codecs;

/// <summary>Encodes payloads as UTF-8 JSON with System.Text.Json: the default codec.</summary>
public sealed class JsonPayloadCodec : IPayloadCodec
{
    /// <summary>The default largest encoded payload: 1 MiB.</summary>
    public const int DefaultMaxPayloadBytes = 1024 * 1024;

    /// <summary>Creates the codec.</summary>
    /// <param name="options">Serializer options; <see cref="JsonSerializerOptions.Web"/> by default.</param>
    /// <param name="maxPayloadBytes">The largest encoded payload accepted; larger values are rejected before anything is journaled.</param>
    public JsonPayloadCodec(JsonSerializerOptions? options = null, int maxPayloadBytes = DefaultMaxPayloadBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPayloadBytes, 16);
        Options = options ?? JsonSerializerOptions.Web;
        MaxPayloadBytes = maxPayloadBytes;
    }

    /// <summary>Gets the shared default instance.</summary>
    public static JsonPayloadCodec Default { get; } = new();

    /// <summary>Gets the serializer options.</summary>
    public JsonSerializerOptions Options { get; }

    /// <summary>Gets the largest encoded payload accepted, in bytes.</summary>
    public int MaxPayloadBytes { get; }

    private JsonSerializerOptions StrictOptions => field ??= new JsonSerializerOptions(Options) { Converters = { new SurrogateCheckingStringConverter() } };

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The value cannot be serialized (a cycle, nesting deeper than the serializer's maximum depth, an undefined <see cref="JsonElement"/>), or a string in it holds a lone surrogate, which JSON cannot carry exactly.</exception>
    public Payload Encode<T>(T value)
    {
        byte[] bytes;
        try
        {
            bytes = JsonSerializer.SerializeToUtf8Bytes(value, Options);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NotSupportedException)
        {
            var reason = value is JsonElement { ValueKind: JsonValueKind.Undefined }
                ? "it is an undefined JsonElement (default(JsonElement)), which holds no value"
                : ex.InnerException is { } inner ? $"{ex.Message.TrimEnd('.')}: {inner.Message}" : ex.Message;
            throw new ArgumentException($"The value of type {typeof(T).Name} cannot be journaled as JSON: {reason.TrimEnd('.')}. Journaled values must serialize with System.Text.Json: no cycles, at most {(Options.MaxDepth == 0 ? 64 : Options.MaxDepth)} levels deep.", nameof(value), ex);
        }

        StoreLimits.CheckSize($"The value of type {typeof(T).Name}", bytes.Length, MaxPayloadBytes);
        if (bytes.AsSpan().IndexOf("\\uFFFD"u8) >= 0 || bytes.AsSpan().IndexOf("\uFFFD"u8) >= 0)
        {
            // System.Text.Json silently writes a lone surrogate as U+FFFD, so the value would come back changed on
            // replay. A U+FFFD in the output is rare: only then serialize again, checking every string.
            _ = JsonSerializer.SerializeToUtf8Bytes(value, StrictOptions);
        }

        return Payload.FromStored(Payload.JsonEncoding, bytes);
    }

    /// <inheritdoc/>
    public T Decode<T>(Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return payload.ToValue<T>(Options)!;
    }
}

// Writes strings as the default converter does, after checking they hold no lone surrogate.
internal sealed class SurrogateCheckingStringConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString();

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        Check(value);
        writer.WriteStringValue(value);
    }

    public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString()!;

    public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        Check(value);
        writer.WritePropertyName(value);
    }

    private static void Check(string value)
    {
        var i = JournalText.IndexOfLoneSurrogate(value);
        if (i >= 0)
        {
            throw new ArgumentException($"A string in the value holds a lone surrogate (U+{(int)value[i]:X4}) at index {i}. JSON cannot carry it exactly (it would come back as U+FFFD, so replay would see another value); remove it, or journal the text as bytes (byte[] is written as base64).");
        }
    }
}
