using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Durably.Journal;

/// <summary>Holds an encoded value in the journal: a step result, a run input, a signal payload.</summary>
/// <remarks>
/// Plain JSON payloads (<see cref="Encoding"/> <c>json</c>) are written inline in the entry so exported
/// journals stay readable. Payloads transformed by a codec (compressed or encrypted) carry the codec's
/// encoding name, for example <c>gzip</c> or <c>aesgcm:key-2024</c>, and are written as base64.
/// Instances are immutable; equality compares encoding and bytes.
/// </remarks>
[JsonConverter(typeof(PayloadJsonConverter))]
public sealed class Payload : IEquatable<Payload>
{
    /// <summary>The encoding name of plain UTF-8 JSON.</summary>
    public const string JsonEncoding = "json";

    private const string ReflectionJson = "Serializes with System.Text.Json reflection; for trimmed or native AOT applications use the overload taking a JsonTypeInfo<T> from a JsonSerializerContext.";

    /// <summary>The deepest nesting accepted in a JSON payload.</summary>
    public const int MaxJsonDepth = 128;

    private readonly byte[] _data;

    /// <summary>Creates a payload from already-encoded bytes.</summary>
    /// <param name="encoding">The encoding name; <c>json</c> means UTF-8 JSON, which is validated.</param>
    /// <param name="data">The encoded bytes; they are copied.</param>
    /// <exception cref="ArgumentException">The encoding name is empty, or the data is not valid JSON for the <c>json</c> encoding.</exception>
    public Payload(string encoding, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(encoding);
        if (encoding == JsonEncoding)
        {
            ValidateJson(data);
        }

        Encoding = encoding;
        _data = data.ToArray();
    }

    private Payload(string encoding, byte[] data, bool trusted)
    {
        _ = trusted;
        Encoding = encoding;
        _data = data;
    }

    /// <summary>Gets the encoding name: <c>json</c> for plain UTF-8 JSON, otherwise the codec's name.</summary>
    public string Encoding { get; }

    /// <summary>Gets the encoded bytes.</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>Gets the number of encoded bytes.</summary>
    public int Length => _data.Length;

    /// <summary>Gets a value indicating whether the payload is plain UTF-8 JSON.</summary>
    public bool IsJson => Encoding == JsonEncoding;

    /// <summary>Creates a JSON payload from UTF-8 JSON text after checking it is one well-formed value.</summary>
    /// <exception cref="ArgumentException">The text is not a single well-formed JSON value, or nests deeper than <see cref="MaxJsonDepth"/>.</exception>
    public static Payload FromJson(ReadOnlySpan<byte> utf8Json) => new(JsonEncoding, utf8Json);

    /// <inheritdoc cref="FromJson(ReadOnlySpan{byte})"/>
    public static Payload FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return FromJson(System.Text.Encoding.UTF8.GetBytes(json));
    }

    /// <summary>Serializes <paramref name="value"/> with System.Text.Json into a JSON payload.</summary>
    /// <remarks>Uses reflection for <typeparamref name="T"/>; in a trimmed or native AOT application use <see cref="FromValue{T}(T, JsonTypeInfo{T})"/>.</remarks>
    [RequiresUnreferencedCode(ReflectionJson)]
    [RequiresDynamicCode(ReflectionJson)]
#pragma warning disable RS0027 // The JsonTypeInfo overloads mirror JsonSerializer's; a call without options binds here as before.
    public static Payload FromValue<T>(T value, JsonSerializerOptions? options = null)
#pragma warning restore RS0027
        => new(JsonEncoding, JsonSerializer.SerializeToUtf8Bytes(value, options ?? JsonSerializerOptions.Default), trusted: true);

    /// <summary>Serializes <paramref name="value"/> with System.Text.Json metadata (a source-generated <see cref="JsonSerializerContext"/>'s) into a JSON payload.</summary>
    public static Payload FromValue<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return new(JsonEncoding, JsonSerializer.SerializeToUtf8Bytes(value, typeInfo), trusted: true);
    }

    /// <summary>Returns the JSON text of a <c>json</c> payload.</summary>
    /// <exception cref="InvalidOperationException">The payload is encoded by a codec and must be decoded first.</exception>
    public string ToJsonString()
    {
        EnsureJson();
        return System.Text.Encoding.UTF8.GetString(_data);
    }

    /// <summary>Deserializes a <c>json</c> payload into <typeparamref name="T"/>.</summary>
    /// <remarks>Uses reflection for <typeparamref name="T"/>; in a trimmed or native AOT application use <see cref="ToValue{T}(JsonTypeInfo{T})"/>.</remarks>
    /// <exception cref="InvalidOperationException">The payload is encoded by a codec and must be decoded first.</exception>
    [RequiresUnreferencedCode(ReflectionJson)]
    [RequiresDynamicCode(ReflectionJson)]
#pragma warning disable RS0027 // As for FromValue.
    public T? ToValue<T>(JsonSerializerOptions? options = null)
#pragma warning restore RS0027
    {
        EnsureJson();
        return JsonSerializer.Deserialize<T>(_data, options ?? JsonSerializerOptions.Default);
    }

    /// <summary>Deserializes a <c>json</c> payload into <typeparamref name="T"/> with System.Text.Json metadata (a source-generated <see cref="JsonSerializerContext"/>'s).</summary>
    /// <exception cref="InvalidOperationException">The payload is encoded by a codec and must be decoded first.</exception>
    public T? ToValue<T>(JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        EnsureJson();
        return JsonSerializer.Deserialize(_data, typeInfo);
    }

    /// <inheritdoc/>
    public bool Equals(Payload? other)
        => other is not null && Encoding == other.Encoding && _data.AsSpan().SequenceEqual(other._data);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Payload);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Encoding);
        hash.AddBytes(_data);
        return hash.ToHashCode();
    }

    /// <summary>Returns the JSON text, or the encoding and size for codec-encoded payloads.</summary>
    public override string ToString() => IsJson ? ToJsonString() : $"[{Encoding}, {_data.Length} bytes]";

    /// <summary>Creates a payload over bytes a store reads back from its own storage, without copying or validating them.</summary>
    /// <remarks>
    /// <para>For stores: the bytes were checked when the payload was made (JSON is validated on the way in), so a
    /// store returning what it stored need not check them again. The payload keeps <paramref name="data"/>: the caller
    /// must not change the array afterwards. Anything else should use the constructor, which copies and validates.</para>
    /// <para>A store that cannot rule out damaged bytes should detect it itself (a checksum) and throw
    /// <see cref="Storage.JournalCorruptedException"/> rather than hand them on.</para>
    /// </remarks>
    /// <param name="encoding">The encoding name the payload was stored with.</param>
    /// <param name="data">The stored bytes; kept, not copied.</param>
    /// <exception cref="ArgumentException"><paramref name="encoding"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is null.</exception>
    public static Payload FromStored(string encoding, byte[] data)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(encoding);
        ArgumentNullException.ThrowIfNull(data);
        return new(encoding, data, trusted: true);
    }

    internal byte[] UnsafeBytes => _data;

    private void EnsureJson()
    {
        if (!IsJson)
        {
            throw new InvalidOperationException($"The payload is encoded as '{Encoding}'; decode it with the journal's payload codec before reading it as JSON.");
        }
    }

    private static void ValidateJson(ReadOnlySpan<byte> data)
    {
        var reader = new Utf8JsonReader(data, new JsonReaderOptions { MaxDepth = MaxJsonDepth });
        try
        {
            if (!reader.Read())
            {
                throw new ArgumentException("The payload is empty; a JSON payload must hold one JSON value (use null for none).", nameof(data));
            }

            reader.Skip();
            if (reader.Read())
            {
                throw new ArgumentException("The payload holds more than one JSON value.", nameof(data));
            }
        }
        catch (JsonException ex)
        {
            var reason = reader.CurrentDepth >= MaxJsonDepth - 1
                ? $"it nests deeper than {MaxJsonDepth} levels"
                : ex.Message;
            throw new ArgumentException($"The payload is not valid JSON: {reason}", nameof(data), ex);
        }
    }
}

// Plain JSON is written inline. Anything else, JSON null, and JSON that itself looks like our envelope,
// is wrapped as {"$durably":"<encoding>","b64":"..."} or {"$durably":"json","raw":<value>}.
internal sealed class PayloadJsonConverter : JsonConverter<Payload>
{
    private static readonly byte[] EnvelopeStart = "{\"$durably\""u8.ToArray();
    private const string Marker = "$durably";


    public override Payload Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            var probe = reader;
            if (probe.Read() && probe.TokenType == JsonTokenType.PropertyName && probe.ValueTextEquals(Marker))
            {
                return ReadEnvelope(ref reader);
            }
        }

        if (TryReadScalar(ref reader) is { } scalar)
        {
            return scalar;
        }

        var element = JsonElement.ParseValue(ref reader);
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element);
        return Payload.FromStored(Payload.JsonEncoding, raw.ToArray());
    }

    // A scalar (most step results) at the reader's token, as its text as written: copied without building a
    // document. Null for anything else (objects, arrays, JSON null, a value split across buffers).
    internal static Payload? TryReadScalar(ref Utf8JsonReader reader)
    {
        if (reader.HasValueSequence)
        {
            return null;
        }

        switch (reader.TokenType)
        {
            case JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False:
                return Payload.FromStored(Payload.JsonEncoding, reader.ValueSpan.ToArray());
            case JsonTokenType.String:
                var text = reader.ValueSpan;
                var quoted = new byte[text.Length + 2];
                quoted[0] = (byte)'"';
                text.CopyTo(quoted.AsSpan(1));
                quoted[^1] = (byte)'"';
                return Payload.FromStored(Payload.JsonEncoding, quoted);
            default:
                return null;
        }
    }

    public override void Write(Utf8JsonWriter writer, Payload value, JsonSerializerOptions options)
    {
        var data = value.UnsafeBytes;
        // The JSON literal null is wrapped, so it stays distinct from an absent payload (which reads back as null).
        if (value.IsJson && !data.AsSpan().StartsWith(EnvelopeStart) && !data.AsSpan().SequenceEqual("null"u8))
        {
            writer.WriteRawValue(data, skipInputValidation: true);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString(Marker, value.Encoding);
        if (value.IsJson)
        {
            writer.WritePropertyName("raw");
            writer.WriteRawValue(data, skipInputValidation: true);
        }
        else
        {
            writer.WriteBase64String("b64", data);
        }

        writer.WriteEndObject();
    }

    private static Payload ReadEnvelope(ref Utf8JsonReader reader)
    {
        string? encoding = null;
        byte[]? data = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case Marker:
                    encoding = reader.GetString();
                    break;
                case "b64":
                    data = reader.GetBytesFromBase64();
                    break;
                case "raw":
                    var element = JsonElement.ParseValue(ref reader);
                    data = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element).ToArray();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (string.IsNullOrEmpty(encoding) || data is null)
        {
            throw new JsonException("A wrapped payload needs both '$durably' (its encoding) and 'b64' or 'raw' (its data).");
        }

        return Payload.FromStored(encoding, data);
    }
}
