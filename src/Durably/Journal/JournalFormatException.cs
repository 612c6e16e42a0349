namespace Durably.Journal;

/// <summary>Thrown when journal data is not in a format this version can read: malformed, unknown, or from a newer version.</summary>
public sealed class JournalFormatException : DurablyException
{
    /// <summary>Creates the exception with a message.</summary>
    public JournalFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying error.</summary>
    public JournalFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets the format version found, when the data was from a newer version; otherwise 0.</summary>
    public int FormatVersion { get; init; }
}
