namespace Durably.Storage;

/// <summary>Describes one stored payload blob.</summary>
/// <param name="Sha256">The lower-case hexadecimal SHA-256 of its bytes, its name.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="LastUsed">When it was last written or referred to by a new entry.</param>
public sealed record PayloadBlobInfo(string Sha256, long Size, DateTimeOffset LastUsed);
