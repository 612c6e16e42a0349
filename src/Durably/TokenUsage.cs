using System.Text.Json.Serialization;

namespace Durably;

/// <summary>Counts the tokens a model call used.</summary>
/// <param name="InputTokens">Tokens in the request.</param>
/// <param name="OutputTokens">Tokens in the response.</param>
public sealed record TokenUsage(
    [property: JsonPropertyName("in")] long InputTokens,
    [property: JsonPropertyName("out")] long OutputTokens)
{
    /// <summary>Gets the model that used the tokens (as the provider named it), or <see langword="null"/> when not known.</summary>
    /// <remarks>Prices are per model (see <c>Durably.AI.TokenPrices</c>); journals written before this field read it as <see langword="null"/>.</remarks>
    [JsonPropertyName("model")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Model { get; init; }

    /// <summary>Gets the sum of input and output tokens.</summary>
    [JsonIgnore]
    public long TotalTokens => InputTokens + OutputTokens;
}
