namespace Durably.Codecs;

/// <summary>Names the compression algorithms <see cref="CompressingPayloadCodec"/> can write.</summary>
public enum PayloadCompression
{
    /// <summary>GZip (RFC 1952), encoding name <c>gzip</c>: fast, readable by every tool.</summary>
    GZip,

    /// <summary>Brotli (RFC 7932), encoding name <c>br</c>: smaller output for text, slower to write.</summary>
    Brotli,
}
