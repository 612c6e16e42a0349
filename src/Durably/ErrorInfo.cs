using System.Text.Json.Serialization;
using Durably.Journal;

namespace Durably;

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

    /// <summary>Gets the message as encoded by a payload codec that transforms it (for example encrypts it), or <see langword="null"/> when <see cref="Message"/> holds it in clear.</summary>
    /// <remarks>When set, <see cref="Message"/> holds only a placeholder; the runtime decodes this with its codec when it reads the error back.</remarks>
    [JsonPropertyName("enc")]
    public Payload? EncodedMessage { get; init; }

    // Error messages may carry what a codec protects (a secret in an exception message): when the codec transforms
    // payloads, the message is journaled encoded and only a placeholder stays in clear.
    internal ErrorInfo Seal(Codecs.IPayloadCodec codec)
    {
        var encoded = codec.Encode(Message);
        return encoded.IsJson ? this : this with { Message = $"(message encoded as '{encoded.Encoding}')", EncodedMessage = encoded };
    }

    internal ErrorInfo Unseal(Codecs.IPayloadCodec codec)
        => EncodedMessage is { } encoded ? this with { Message = codec.Decode<string>(encoded), EncodedMessage = null } : this;

    /// <summary>Creates an error record from an exception.</summary>
    /// <remarks>A lone UTF-16 surrogate in the message becomes U+FFFD, as the journal's JSON would make it, so the record
    /// reads the same live and on replay.</remarks>
    public static ErrorInfo FromException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new ErrorInfo(exception.GetType().FullName ?? exception.GetType().Name, JournalText.Normalize(exception.Message));
    }
}
