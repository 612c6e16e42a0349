using System.Runtime.CompilerServices;
using System.Text;

namespace Durably.Journal;

/// <summary>Writes and reads journals as JSON lines: one entry per line, each in the wire format of <see cref="JournalSerializer"/>.</summary>
/// <remarks>
/// The format is what <c>durably journal export</c> prints: UTF-8, entries separated by <c>\n</c>, no header, so that
/// <c>grep</c>, <c>jq</c> and a plain text editor can read it and another build of Durably can read it back. Entries
/// from a newer format version are refused, as <see cref="JournalSerializer.Deserialize"/> refuses them. Thread-safe.
/// </remarks>
public static class JournalExport
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    /// <summary>Writes <paramref name="entries"/> to <paramref name="destination"/>, one JSON line each, and flushes it.</summary>
    /// <remarks>The stream is left open.</remarks>
    public static async Task WriteAsync(Stream destination, IEnumerable<JournalEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            await destination.WriteAsync(JournalSerializer.Serialize(entry), cancellationToken).ConfigureAwait(false);
            await destination.WriteAsync(NewLine, cancellationToken).ConfigureAwait(false);
        }

        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads entries from JSON lines in <paramref name="source"/>, in file order; blank lines are skipped.</summary>
    /// <remarks>The stream is left open. Reading stops at the first line that is not an entry.</remarks>
    /// <exception cref="JournalFormatException">A line is not an entry this version can read; the message names the line.</exception>
    public static async IAsyncEnumerable<JournalEntry> ReadAsync(Stream source, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var reader = new StreamReader(source, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        var number = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JournalEntry entry;
            try
            {
                entry = JournalSerializer.Deserialize(Encoding.UTF8.GetBytes(line));
            }
            catch (JournalFormatException ex)
            {
                throw new JournalFormatException($"Line {number} of the exported journal is not a journal entry: {ex.Message}", ex) { FormatVersion = ex.FormatVersion };
            }

            yield return entry;
        }
    }
}
