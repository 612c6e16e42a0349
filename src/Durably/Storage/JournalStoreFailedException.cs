namespace Durably.Storage;

/// <summary>Thrown when a store can no longer tell what is durable and has stopped accepting writes until it is reopened.</summary>
/// <remarks>
/// <para>A sync (fsync) that fails leaves the disk in an unknown state: the operating system may have dropped the
/// data it could not write, or may write it later, and a second sync can report success without writing it
/// ("fsyncgate"). So, as PostgreSQL does, a store that meets an I/O error while making a commit durable does not
/// carry on: the writes in that commit fail with this exception, as does every later write, until the store is
/// disposed and opened again, which reads back what actually reached the disk.</para>
/// <para>The writes of the failed commit were not acknowledged, but they may or may not be in the journal when it is
/// reopened: read the runs before writing them again (the runtime does, as it replays every run from its journal).</para>
/// </remarks>
public sealed class JournalStoreFailedException : JournalStoreException
{
    /// <summary>Creates the exception with a message and the underlying error.</summary>
    public JournalStoreFailedException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
