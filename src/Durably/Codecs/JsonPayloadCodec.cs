using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Codecs;

/// <summary>Encodes payloads as UTF-8 JSON with System.Text.Json: the default codec.</summary>
/// <remarks>
/// <para>Types are resolved by the options' <see cref="JsonSerializerOptions.TypeInfoResolver"/>; options without one (and the default)
/// use System.Text.Json's reflection, as long as the application allows it. A trimmed or native AOT application passes options whose
/// resolver is its source-generated <see cref="JsonSerializerContext"/> (<c>new JsonSerializerOptions(JsonSerializerDefaults.Web) {
/// TypeInfoResolver = AppJsonContext.Default }</c>), listing every type its workflows journal: inputs, step results, signal payloads.
/// The runtime's own payloads (approvals, child reports) resolve without being listed. A type the resolver does not know fails its
/// encode with an <see cref="ArgumentException"/> that names it.</para>
/// </remarks>
public sealed class JsonPayloadCodec : IPayloadCodec
{
    /// <summary>The default largest encoded payload: 1 MiB.</summary>
    public const int DefaultMaxPayloadBytes = 1024 * 1024;

    /// <summary>Creates the codec.</summary>
    /// <param name="options">Serializer options; the web defaults (<see cref="JsonSerializerDefaults.Web"/>) by default. The codec uses a copy
    /// whose resolver falls back to the runtime's own types (<see cref="Options"/>).</param>
    /// <param name="maxPayloadBytes">The largest encoded payload accepted; larger values are rejected before anything is journaled.</param>
    public JsonPayloadCodec(JsonSerializerOptions? options = null, int maxPayloadBytes = DefaultMaxPayloadBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPayloadBytes, 16);
        var effective = new JsonSerializerOptions(options ?? new JsonSerializerOptions(JsonSerializerDefaults.Web));
        effective.TypeInfoResolver = JsonTypeInfoResolver.Combine(effective.TypeInfoResolver ?? ReflectionResolver(), DurablyJsonContext.Default);
        effective.MakeReadOnly();
        Options = effective;
        MaxPayloadBytes = maxPayloadBytes;
    }

    /// <summary>Gets the shared default instance.</summary>
    public static JsonPayloadCodec Default { get; } = new();

    /// <summary>Gets the serializer options.</summary>
    public JsonSerializerOptions Options { get; }

    /// <summary>Gets the largest encoded payload accepted, in bytes.</summary>
    public int MaxPayloadBytes { get; }

    private JsonSerializerOptions StrictOptions => field ??= new JsonSerializerOptions(Options) { Converters = { new SurrogateCheckingStringConverter() } };

    // System.Text.Json's reflection resolver where the application allows reflection (the default), else one that knows no type, so
    // a trimmed or native AOT application's unlisted types fail with a message rather than at trimming. Guarded by the feature
    // switch the trimmer honours, so a trimmed application does not keep the reflection resolver.
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only where JsonSerializer.IsReflectionEnabledByDefault is true, which trimmed and AOT applications turn off.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Only where JsonSerializer.IsReflectionEnabledByDefault is true, which trimmed and AOT applications turn off.")]
    private static IJsonTypeInfoResolver ReflectionResolver()
        => JsonSerializer.IsReflectionEnabledByDefault ? new DefaultJsonTypeInfoResolver() : JsonTypeInfoResolver.Combine();

    private static JsonTypeInfo<T> TypeInfo<T>(JsonSerializerOptions options)
    {
        try
        {
            return (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        }
        catch (NotSupportedException ex)
        {
            throw new ArgumentException($"The codec's JSON options have no metadata for {typeof(T).FullName}: add [JsonSerializable(typeof({typeof(T).Name}))] to the JsonSerializerContext given as the options' TypeInfoResolver. ({ex.Message})", ex);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The value cannot be serialized (a cycle, nesting deeper than the serializer's maximum depth, an undefined <see cref="JsonElement"/>), or a string in it holds a lone surrogate, which JSON cannot carry exactly.</exception>
    public Payload Encode<T>(T value)
    {
        byte[] bytes;
        try
        {
            bytes = JsonSerializer.SerializeToUtf8Bytes(value, TypeInfo<T>(Options));
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
            _ = JsonSerializer.SerializeToUtf8Bytes(value, TypeInfo<T>(StrictOptions));
        }

        return Payload.FromStored(Payload.JsonEncoding, bytes);
    }

    /// <inheritdoc/>
    public T Decode<T>(Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return payload.ToValue(TypeInfo<T>(Options))!;
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
