namespace Durably.Codecs;

/// <summary>Composes payload codecs: <c>JsonPayloadCodec.Default.WithCompression().WithEncryption(keys)</c>.</summary>
public static class PayloadCodecExtensions
{
    /// <summary>Returns a codec that compresses what <paramref name="codec"/> produces (see <see cref="CompressingPayloadCodec"/>).</summary>
    public static CompressingPayloadCodec WithCompression(this IPayloadCodec codec, PayloadCompression compression = PayloadCompression.GZip, int minBytes = CompressingPayloadCodec.DefaultMinBytes)
        => new(codec, compression, minBytes);

    /// <summary>Returns a codec that encrypts what <paramref name="codec"/> produces with AES-GCM (see <see cref="EncryptingPayloadCodec"/>).</summary>
    public static EncryptingPayloadCodec WithEncryption(this IPayloadCodec codec, PayloadKeyRing keys)
        => new(codec, keys);
}
