using Durably.Journal;

namespace Durably.Storage;

/// <summary>Decodes the journal entries a store reads back, with the checks and error messages every store shares.</summary>
/// <remarks>
/// For stores: a store keeps entries as the bytes <see cref="StoreLimits.Encode"/> made and returns them through
/// <see cref="Decode"/>, which tells damage (bytes that are not an entry, or another entry than the one asked for)
/// from a journal written by a newer version. Thread-safe.
/// </remarks>
public static class StoredEntries
{
    /// <summary>Deserializes the stored bytes of entry <paramref name="sequence"/> of a run, and checks that they hold that entry.</summary>
    /// <param name="data">The stored bytes.</param>
    /// <param name="runId">The run's id, for messages.</param>
    /// <param name="sequence">The entry's position in the run's journal.</param>
    /// <param name="location">The file or server the store uses, for messages and <see cref="JournalStoreException.StoreLocation"/>.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="JournalCorruptedException">The bytes are not a journal entry, or hold another sequence.</exception>
    /// <exception cref="JournalFormatException">The entry was written by a newer version of Durably.</exception>
    public static JournalEntry Decode(ReadOnlySpan<byte> data, string runId, long sequence, string location)
    {
        JournalEntry entry;
        try
        {
            entry = JournalSerializer.Deserialize(data);
        }
        catch (JournalFormatException ex) when (ex.FormatVersion == 0)
        {
            throw Damaged(runId, sequence, location, ex.Message, ex);
        }
        catch (JournalFormatException ex)
        {
            throw new JournalFormatException($"Entry {sequence} of run '{runId}' in {location}: {ex.Message}", ex) { FormatVersion = ex.FormatVersion };
        }

        return entry.Sequence == sequence ? entry : throw Damaged(runId, sequence, location, $"says it is entry {entry.Sequence}");
    }

    /// <summary>Creates the exception for a stored entry that is damaged, with a message that names it and says what to do.</summary>
    /// <param name="runId">The run's id.</param>
    /// <param name="sequence">The entry's position in the run's journal.</param>
    /// <param name="location">The file or server the store uses.</param>
    /// <param name="reason">What is wrong, as the end of a sentence about the entry: <c>"does not match its checksum"</c>.</param>
    /// <param name="innerException">The error that revealed it, if any.</param>
    public static JournalCorruptedException Damaged(string runId, long sequence, string location, string reason, Exception? innerException = null)
        => new($"Entry {sequence} of run '{runId}' in {location} {reason.TrimEnd('.')}. The journal is damaged; restore it from a backup.", innerException) { StoreLocation = location };
}
