using System.Text.Json.Serialization;

namespace Durably.Journal;

/// <summary>Describes a recorded failure: the exception's type name and message.</summary>
/// <param name="Type">The full name of the exception type.</param>
/// <param name="Message">The exception message.</param>
public sealed record ErrorInfo(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("message")] string Message)
{
    /// <summary>Gets the stack trace or other detail, when recorded.</summary>
    [JsonPropertyName("detail")]
    public string? Detail { get; init; }

    /// <summary>Creates an error record from an exception.</summary>
    public static ErrorInfo FromException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new ErrorInfo(exception.GetType().FullName ?? exception.GetType().Name, exception.Message);
    }
}
