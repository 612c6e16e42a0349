namespace Durably.Storage;

/// <summary>Configures how a journal store keeps large payloads outside its rows.</summary>
/// <remarks>
/// <para>A payload (a step result, a run's input or result, a signal) whose encoded size is above <see cref="InlineLimit"/>
/// is written to a blob store, content-addressed by the SHA-256 of its bytes, and the journal row keeps a small reference
/// (<see cref="PayloadBlobReference"/>). Reads put the payload back, so the runtime, replay, the CLI and exports see the
/// payload as it was appended. The bytes offloaded are the ones the run's codec produced: with an encrypting codec the blob
/// is encrypted too. Identical bytes are stored once; an encrypting codec uses a fresh nonce per value, so encrypted
/// copies of the same value are different bytes and are stored apart.</para>
/// <para>Limits: an entry, with its large payloads replaced by references, must still fit the store's largest entry
/// (<c>MaxEntryBytes</c>); each offloaded payload may be up to <see cref="MaxBlobBytes"/>.</para>
/// </remarks>
public sealed class PayloadBlobOptions
{
    /// <summary>The default <see cref="InlineLimit"/>: 64 KiB.</summary>
    public const int DefaultInlineLimit = 64 * 1024;

    /// <summary>The default <see cref="MaxBlobBytes"/>: 256 MiB.</summary>
    public const long DefaultMaxBlobBytes = 256L * 1024 * 1024;

    /// <summary>Gets the largest payload kept in the journal row, in bytes; larger ones are offloaded. Default 64 KiB.</summary>
    public int InlineLimit { get; init; } = DefaultInlineLimit;

    /// <summary>Gets the largest payload accepted as a blob, in bytes. Default 256 MiB.</summary>
    public long MaxBlobBytes { get; init; } = DefaultMaxBlobBytes;

    /// <summary>Gets the blob store; <see langword="null"/> for the store's default (SQLite: a folder beside the journal file; PostgreSQL: a side table).</summary>
    public IPayloadBlobStore? Store { get; init; }

    /// <summary>Gets how long an unreferenced blob is kept before garbage collection may delete it. Default 15 minutes.</summary>
    /// <remarks>Covers appends in flight in other processes: a blob is written (or refreshed) before the entry that refers
    /// to it commits, so a blob used less than this long ago is never deleted. Keep it well above the longest an append waits.</remarks>
    public TimeSpan CollectionGracePeriod { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is not positive, or the inline limit is above the blob limit.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(InlineLimit, 256, nameof(InlineLimit));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBlobBytes, InlineLimit, nameof(MaxBlobBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(CollectionGracePeriod, TimeSpan.Zero, nameof(CollectionGracePeriod));
    }
}
