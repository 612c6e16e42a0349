namespace Durably.Storage;

/// <summary>Names an offloaded payload: what a journal row holds in place of the payload's bytes.</summary>
/// <param name="Sha256">The lower-case hexadecimal SHA-256 of the stored bytes.</param>
/// <param name="Encoding">The payload's own encoding (<c>json</c>, <c>gzip</c>, <c>aesgcm:key-1</c>...), restored on read.</param>
/// <param name="Length">The number of stored bytes.</param>
public sealed record PayloadBlobReference(string Sha256, string Encoding, long Length);
