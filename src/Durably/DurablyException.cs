namespace Durably;

/// <summary>Is the base of every exception Durably throws for a condition of its own.</summary>
public class DurablyException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public DurablyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying error.</summary>
    public DurablyException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
