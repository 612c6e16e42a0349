using Durably.Journal;

namespace Durably.Codecs;

/// <summary>Turns values into journal payloads and back: inputs, step results, signal payloads, run results.</summary>
/// <remarks>Implementations must be thread-safe and deterministic for decoding: a payload decodes to the same value on every replay.</remarks>
public interface IPayloadCodec
{
    /// <summary>Encodes <paramref name="value"/> as a payload.</summary>
    /// <exception cref="Storage.PayloadTooLargeException">The encoded value is larger than the codec's limit.</exception>
    Payload Encode<T>(T value);

    /// <summary>Decodes a payload into a <typeparamref name="T"/>.</summary>
    T Decode<T>(Payload payload);
}
