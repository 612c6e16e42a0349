using System.Collections.Frozen;

namespace Durably.Codecs;

/// <summary>Holds the AES keys of <see cref="EncryptingPayloadCodec"/>: the current key encrypts new payloads, every key decrypts.</summary>
/// <remarks>
/// <para>Each encrypted payload names the id of the key that encrypted it, so keys can rotate: add the new key,
/// make it current, and keep the old ones for as long as journals written with them must be read.</para>
/// <para>Key ids are 1 to 64 characters from <c>A-Z a-z 0-9 . _ -</c>; they are written in clear into every encrypted
/// payload's encoding name, so never put anything secret into them. Keys are 16, 24 or 32 bytes (AES-128, -192, -256)
/// and are copied. Immutable and thread-safe.</para>
/// </remarks>
public sealed class PayloadKeyRing
{
    /// <summary>The longest key id.</summary>
    public const int MaxKeyIdLength = 64;

    private readonly FrozenDictionary<string, byte[]> _keys;

    /// <summary>Creates a key ring.</summary>
    /// <param name="currentKeyId">The id of the key that encrypts new payloads; it must be among <paramref name="keys"/>.</param>
    /// <param name="keys">Every key by id: the current one and the older ones still needed for reading.</param>
    /// <exception cref="ArgumentException">A key id is malformed or repeated, a key has the wrong length, or the current key is missing.</exception>
    public PayloadKeyRing(string currentKeyId, IEnumerable<KeyValuePair<string, byte[]>> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var copy = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (id, key) in keys)
        {
            CheckKeyId(id);
            ArgumentNullException.ThrowIfNull(key, nameof(keys));
            if (key.Length is not (16 or 24 or 32))
            {
                throw new ArgumentException($"Key '{id}' is {key.Length} bytes; an AES key is 16, 24 or 32 bytes (32 recommended).", nameof(keys));
            }

            if (!copy.TryAdd(id, [.. key]))
            {
                throw new ArgumentException($"Key id '{id}' appears twice.", nameof(keys));
            }
        }

        CheckKeyId(currentKeyId);
        if (!copy.ContainsKey(currentKeyId))
        {
            throw new ArgumentException($"The current key id '{currentKeyId}' is not among the keys given ({string.Join(", ", copy.Keys)}).", nameof(currentKeyId));
        }

        CurrentKeyId = currentKeyId;
        _keys = copy.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Gets the id of the key that encrypts new payloads.</summary>
    public string CurrentKeyId { get; }

    /// <summary>Gets the ids of every key on the ring.</summary>
    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    /// <summary>Creates a ring with one key, which is current.</summary>
    public static PayloadKeyRing Single(string keyId, byte[] key) => new(keyId, [new(keyId, key)]);

    /// <summary>Returns a ring with the same keys and another current key.</summary>
    /// <exception cref="ArgumentException">The ring has no key with that id.</exception>
    public PayloadKeyRing WithCurrentKey(string keyId) => new(keyId, _keys);

    internal byte[] GetKey(string keyId)
        => _keys.TryGetValue(keyId, out var key) ? key : throw new PayloadKeyNotFoundException(keyId, _keys.Keys);

    internal static void CheckKeyId(string keyId)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        if (keyId.Length > MaxKeyIdLength || !keyId.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new ArgumentException($"Key id '{keyId}' is not valid: use 1 to {MaxKeyIdLength} characters from A-Z a-z 0-9 . _ -", nameof(keyId));
        }
    }
}
