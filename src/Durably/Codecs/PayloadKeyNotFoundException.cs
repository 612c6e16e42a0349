namespace Durably.Codecs;

/// <summary>Thrown when a journaled payload was encrypted with a key that is not on the key ring.</summary>
public sealed class PayloadKeyNotFoundException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public PayloadKeyNotFoundException(string keyId, IEnumerable<string> availableKeyIds)
        : base($"A journaled payload was encrypted with key '{keyId}', which is not on the key ring (it has: {string.Join(", ", availableKeyIds ?? [])}). Add key '{keyId}' to the PayloadKeyRing to read it; keep old keys on the ring for as long as journals written with them must be read.")
    {
        KeyId = keyId;
    }

    /// <summary>Gets the id of the missing key.</summary>
    public string KeyId { get; }
}
