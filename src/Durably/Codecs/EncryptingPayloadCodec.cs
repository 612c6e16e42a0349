using System.Security.Cryptography;
using System.Text;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Codecs;

/// <summary>Encrypts the payloads another codec produces with AES-GCM before they are journaled.</summary>
/// <remarks>
/// <para>Each payload is encrypted with the key ring's current key and a fresh random 96-bit nonce; its encoding
/// is <c>aesgcm:{key id}</c> (then <c>+</c> and the inner layers, if any), and its data is nonce, ciphertext and
/// 128-bit tag. The encoding name is authenticated too, so a payload cannot be passed off under another key id
/// or layer. Decoding picks the key by the id in the encoding; payloads that are not encrypted go to the inner
/// codec unchanged, so journals written before encryption was switched on stay readable.</para>
/// <para>What is encrypted: run inputs and results, step results, signal payloads and recorded error messages.
/// What stays in clear: run ids, workflow, step and signal names, step kinds, timestamps, idempotency keys,
/// exception type names, and argument hashes (<see cref="StepOptions.Arguments"/>: an unkeyed hash, so do not
/// pass a low-entropy secret there). Compress before encrypting (<c>codec.WithCompression().WithEncryption(keys)</c>),
/// never after: ciphertext does not compress. Random nonces allow about 2^32 payloads per key; rotate keys well
/// before that. Thread-safe.</para>
/// </remarks>
public sealed class EncryptingPayloadCodec : IPayloadCodec
{
    /// <summary>The prefix of an AES-GCM layer's encoding name; the key id follows it.</summary>
    public const string EncodingPrefix = "aesgcm:";

    private const int NonceSize = 12;
    private const int TagSize = 16;

    /// <summary>Creates the codec.</summary>
    /// <param name="inner">The codec whose payloads are encrypted, for example a <see cref="CompressingPayloadCodec"/> over <see cref="JsonPayloadCodec"/>.</param>
    /// <param name="keys">The keys: the current one encrypts, all of them decrypt.</param>
    /// <exception cref="PlatformNotSupportedException">This platform has no AES-GCM.</exception>
    public EncryptingPayloadCodec(IPayloadCodec inner, PayloadKeyRing keys)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(keys);
        if (!AesGcm.IsSupported)
        {
            throw new PlatformNotSupportedException("AES-GCM is not available on this platform, so journaled payloads cannot be encrypted here.");
        }

        Inner = inner;
        Keys = keys;
    }

    /// <summary>Gets the codec whose payloads are encrypted.</summary>
    public IPayloadCodec Inner { get; }

    /// <summary>Gets the key ring.</summary>
    public PayloadKeyRing Keys { get; }

    /// <inheritdoc/>
    public Payload Encode<T>(T value)
    {
        var inner = Inner.Encode(value);
        var keyId = Keys.CurrentKeyId;
        var encoding = PayloadLayers.Wrap(EncodingPrefix + keyId, inner.Encoding);
        var plaintext = inner.Data.Span;
        var data = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = data.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(Keys.GetKey(keyId), TagSize);
        aes.Encrypt(nonce, plaintext, data.AsSpan(NonceSize, plaintext.Length), data.AsSpan(NonceSize + plaintext.Length), Encoding.UTF8.GetBytes(encoding));
        return Payload.FromStored(encoding, data);
    }

    /// <inheritdoc/>
    /// <exception cref="PayloadKeyNotFoundException">The payload was encrypted with a key that is not on the ring.</exception>
    /// <exception cref="JournalCorruptedException">The payload was altered or damaged (authentication failed).</exception>
    public T Decode<T>(Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var (layer, innerEncoding) = PayloadLayers.Unwrap(payload.Encoding);
        if (!layer.StartsWith(EncodingPrefix, StringComparison.Ordinal))
        {
            return Inner.Decode<T>(payload);
        }

        var keyId = layer[EncodingPrefix.Length..];
        var key = Keys.GetKey(keyId);
        var data = payload.Data.Span;
        if (data.Length < NonceSize + TagSize)
        {
            throw new JournalCorruptedException($"An encrypted payload (key '{keyId}') is {data.Length} bytes, shorter than its nonce and tag; it is damaged.");
        }

        var plaintext = new byte[data.Length - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(data[..NonceSize], data[NonceSize..^TagSize], data[^TagSize..], plaintext, Encoding.UTF8.GetBytes(payload.Encoding));
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new JournalCorruptedException($"An encrypted payload (key '{keyId}') failed authentication: it was altered or damaged, or key '{keyId}' on the ring is not the key it was written with.", ex);
        }

        return Inner.Decode<T>(Payload.FromStored(innerEncoding, plaintext));
    }
}
