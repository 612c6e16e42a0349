using Durably.Journal;

namespace Durably.Codecs;

// Encoding names of layered payloads: transform layers joined by '+', outermost first, with plain JSON
// innermost and left implicit. "gzip" is gzip over JSON, "aesgcm:k1+gzip" is AES-GCM over gzip over JSON.
internal static class PayloadLayers
{
    public const char Separator = '+';

    public static string Wrap(string layer, string innerEncoding)
        => innerEncoding == Payload.JsonEncoding ? layer : layer + Separator + innerEncoding;

    // Splits off the outermost layer; the rest is the encoding of what that layer wraps.
    public static (string Layer, string Inner) Unwrap(string encoding)
    {
        var plus = encoding.IndexOf(Separator, StringComparison.Ordinal);
        return plus < 0 ? (encoding, Payload.JsonEncoding) : (encoding[..plus], encoding[(plus + 1)..]);
    }
}
