namespace Durably.Storage;

/// <summary>Holds a payload taken out of an entry by <see cref="PayloadBlobs.Encode"/>: the blob a store writes before committing the entry.</summary>
/// <param name="Sha256">The lower-case hexadecimal SHA-256 of <paramref name="Data"/>.</param>
/// <param name="Data">The payload's encoded bytes.</param>
public sealed record OffloadedBlob(string Sha256, ReadOnlyMemory<byte> Data);
