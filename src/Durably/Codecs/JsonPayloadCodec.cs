using System.Text.Json;
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

    /// <inheritdoc/>
    public Payload Encode<T>(T value)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, Options);
        StoreLimits.CheckSize($"The value of type {typeof(T).Name}", bytes.Length, MaxPayloadBytes);
        return Payload.Trusted(Payload.JsonEncoding, bytes);
    }

    /// <inheritdoc/>
    public T Decode<T>(Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return payload.ToValue<T>(Options)!;
    }
}
