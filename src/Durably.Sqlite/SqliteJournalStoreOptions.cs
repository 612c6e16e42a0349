using Durably.Storage;

namespace Durably.Sqlite;

/// <summary>Configures a <see cref="SqliteJournalStore"/>.</summary>
public sealed class SqliteJournalStoreOptions
{
    /// <summary>Gets the path of the journal file. Required.</summary>
    public required string Path { get; init; }

    /// <summary>Gets how far a commit is synced before an append completes. Default <see cref="SqliteDurability.Full"/>.</summary>
    public SqliteDurability Durability { get; init; } = SqliteDurability.Full;

    /// <summary>Gets a value indicating whether a missing (or empty) file becomes a new journal (the default) or is reported as an error.</summary>
    /// <remarks>Turn it off where the journal must already exist, for example in a tool or a restarting host, so that a wrong path or a file truncated to nothing is reported instead of silently starting an empty journal.</remarks>
    public bool CreateIfMissing { get; init; } = true;

    /// <summary>Gets the largest serialized journal entry accepted, in bytes. Default 4 MiB.</summary>
    public int MaxEntryBytes { get; init; } = StoreLimits.DefaultMaxEntryBytes;

    /// <summary>Gets how payloads larger than a threshold are kept outside the journal rows, or <see langword="null"/> (the default) to keep every payload in its row.</summary>
    /// <remarks>When set, larger payloads go to <see cref="PayloadBlobOptions.Store"/>, by default a <see cref="FileSystemPayloadBlobStore"/> in the folder
    /// <c>{Path}.blobs</c> beside the journal file; each blob is synced before the commit that refers to it. Journals that refer to blobs are read
    /// the same way whether or not this is set (from the default folder when it is not). Back the folder up with the file.</remarks>
    public PayloadBlobOptions? PayloadBlobs { get; init; }

    /// <summary>Gets how long a write waits for another process holding the file's write lock. Default 10 seconds.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets the clock used for timestamps and leases. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    // Called by the writer at each fault point of every batch; throwing there simulates an I/O error at that
    // point (tests only).
    internal Action<SqliteFaultPoint>? FaultInjector { get; init; }
}

// Where in a group commit the writer calls SqliteJournalStoreOptions.FaultInjector.
internal enum SqliteFaultPoint
{
    // The batch's rows are written, COMMIT has not run: an error here leaves nothing of the batch on disk.
    Write,

    // In place of COMMIT: an error here is what SQLite reports when the sync inside COMMIT fails.
    Commit,

    // After COMMIT returned: SQLite committed, then the sync is reported failed.
    Sync,
}

/// <summary>Says how far SQLite syncs a commit before Durably acknowledges an append.</summary>
public enum SqliteDurability
{
    /// <summary><c>synchronous=FULL</c>: every commit is synced to disk; survives a process crash and a power cut.</summary>
    Full,

    /// <summary><c>synchronous=NORMAL</c>: commits reach the OS but are synced only at checkpoints; survives a process crash, not a power cut or OS crash.</summary>
    Normal,
}
