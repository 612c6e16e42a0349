using System.IO.Compression;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Codecs;

/// <summary>Compresses the payloads another codec produces (GZip or Brotli) before they are journaled.</summary>
/// <remarks>
/// <para>Payloads smaller than <see cref="MinBytes"/> stay as they are: compressing them would not save space.
/// A compressed payload's encoding names the algorithm as its outermost layer (<c>gzip</c>, <c>br</c>,
/// <c>gzip+...</c> over a non-JSON inner codec).</para>
/// <para>Decoding reads both algorithms whatever <see cref="Compression"/> says, and hands payloads that are not
/// compressed to the inner codec unchanged, so switching compression on or off keeps older journals readable.
/// The size limit of the inner codec applies to the uncompressed value. Thread-safe.</para>
/// </remarks>
public sealed class CompressingPayloadCodec : IPayloadCodec
{
    /// <summary>The encoding name of a GZip layer.</summary>
    public const string GZipEncoding = "gzip";

    /// <summary>The encoding name of a Brotli layer.</summary>
    public const string BrotliEncoding = "br";

    /// <summary>The default smallest payload that is compressed: 512 bytes.</summary>
    public const int DefaultMinBytes = 512;

    /// <summary>The default largest size a compressed payload may expand to when decoded: 64 MiB.</summary>
    public const int DefaultMaxDecodedBytes = 64 * 1024 * 1024;

    /// <summary>Creates the codec.</summary>
    /// <param name="inner">The codec whose payloads are compressed, usually <see cref="JsonPayloadCodec"/>.</param>
    /// <param name="compression">The algorithm used for writing.</param>
    /// <param name="minBytes">Payloads smaller than this are not compressed.</param>
    /// <param name="maxDecodedBytes">A compressed payload that expands past this is refused as damaged (a guard against decompression bombs).</param>
    public CompressingPayloadCodec(IPayloadCodec inner, PayloadCompression compression = PayloadCompression.GZip, int minBytes = DefaultMinBytes, int maxDecodedBytes = DefaultMaxDecodedBytes)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(minBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDecodedBytes, 1);
        if (!Enum.IsDefined(compression))
        {
            throw new ArgumentOutOfRangeException(nameof(compression), compression, "Choose PayloadCompression.GZip or PayloadCompression.Brotli.");
        }

        Inner = inner;
        Compression = compression;
        MinBytes = minBytes;
        MaxDecodedBytes = maxDecodedBytes;
    }

    /// <summary>Gets the codec whose payloads are compressed.</summary>
    public IPayloadCodec Inner { get; }

    /// <summary>Gets the algorithm used for writing.</summary>
    public PayloadCompression Compression { get; }

    /// <summary>Gets the smallest payload that is compressed, in bytes.</summary>
    public int MinBytes { get; }

    /// <summary>Gets the largest size a compressed payload may expand to, in bytes.</summary>
    public int MaxDecodedBytes { get; }

    /// <inheritdoc/>
    public Payload Encode<T>(T value)
    {
        var inner = Inner.Encode(value);
        if (inner.Length < MinBytes)
        {
            return inner;
        }

        using var output = new MemoryStream(inner.Length / 2);
        using (var compressor = Compress(output))
        {
            compressor.Write(inner.Data.Span);
        }

        if (output.Length >= inner.Length)
        {
            // Incompressible (already compressed or encrypted data): keep the smaller form.
            return inner;
        }

        var layer = Compression == PayloadCompression.GZip ? GZipEncoding : BrotliEncoding;
        return Payload.FromStored(PayloadLayers.Wrap(layer, inner.Encoding), output.ToArray());
    }

    /// <inheritdoc/>
    /// <exception cref="JournalCorruptedException">The compressed data is damaged or expands past <see cref="MaxDecodedBytes"/>.</exception>
    public T Decode<T>(Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var (layer, innerEncoding) = PayloadLayers.Unwrap(payload.Encoding);
        if (layer is not (GZipEncoding or BrotliEncoding))
        {
            return Inner.Decode<T>(payload);
        }

        return Inner.Decode<T>(Payload.FromStored(innerEncoding, Decompress(layer, payload)));
    }

    private Stream Compress(Stream output) => Compression == PayloadCompression.GZip
        ? new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)
        : new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true);

    private byte[] Decompress(string layer, Payload payload)
    {
        using var input = new MemoryStream(payload.UnsafeBytes, writable: false);
        using Stream decompressor = layer == GZipEncoding
            ? new GZipStream(input, CompressionMode.Decompress)
            : new BrotliStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = new byte[81920];
        try
        {
            int read;
            while ((read = decompressor.Read(buffer)) > 0)
            {
                if (output.Length + read > MaxDecodedBytes)
                {
                    throw new JournalCorruptedException($"A '{payload.Encoding}' payload expands to more than {MaxDecodedBytes:N0} bytes; it is damaged or hostile. Raise maxDecodedBytes only if you journal values that large.");
                }

                output.Write(buffer, 0, read);
            }
        }
        catch (InvalidDataException ex)
        {
            throw new JournalCorruptedException($"A '{payload.Encoding}' payload of {payload.Length:N0} bytes is damaged: {ex.Message}", ex);
        }

        return output.ToArray();
    }
}
