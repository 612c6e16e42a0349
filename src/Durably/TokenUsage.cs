using System.Text.Json.Serialization;

namespace Durably;

/// <summary>Counts the tokens a model call used.</summary>
/// <param name="InputTokens">Tokens in the request.</param>
/// <param name="OutputTokens">Tokens in the response.</param>
public sealed record TokenUsage(
    [property: JsonPropertyName("in")] long InputTokens,
    [property: JsonPropertyName("out")] long OutputTokens)
{
    /// <summary>Gets the sum of input and output tokens.</summary>
    [JsonIgnore]
    public long TotalTokens => InputTokens + OutputTokens;
}
