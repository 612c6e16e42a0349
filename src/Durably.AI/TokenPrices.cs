using Durably.Journal;

namespace Durably.AI;

/// <summary>Prices model tokens, so token counts can be reported as money: one price for every model, or a price per model id with this one as the default.</summary>
/// <param name="InputPerMillion">The price of one million input (prompt) tokens, for models <see cref="Models"/> does not name.</param>
/// <param name="OutputPerMillion">The price of one million output (completion) tokens, for models <see cref="Models"/> does not name.</param>
/// <param name="Currency">The currency the prices are in, for display. Default <c>USD</c>.</param>
/// <example>
/// <code>
/// var prices = new TokenPrices(InputPerMillion: 2.50m, OutputPerMillion: 10m)
/// {
///     Models = new Dictionary&lt;string, TokenPrices&gt; { ["gpt-4o-mini"] = new(0.15m, 0.60m) },
/// };
/// </code>
/// </example>
public sealed record TokenPrices(decimal InputPerMillion, decimal OutputPerMillion, string Currency = "USD")
{
    /// <summary>Gets prices per model id; a model id not listed is priced at this record's prices. Default: none.</summary>
    /// <remarks>
    /// A model id (<see cref="TokenUsage.Model"/>, the id the provider answered with, else the one requested) is matched exactly
    /// (ignoring case), else by the longest listed id it starts with, so <c>gpt-4o-mini</c> also prices
    /// <c>gpt-4o-mini-2024-07-18</c>. Prices listed here must be in <see cref="Currency"/>; their own <see cref="Models"/> are not read.
    /// </remarks>
    public IReadOnlyDictionary<string, TokenPrices> Models { get; init; } = new Dictionary<string, TokenPrices>();

    /// <summary>Returns the prices of one model: its entry in <see cref="Models"/>, else these prices.</summary>
    /// <param name="model">The model id, or <see langword="null"/> when not known (priced at these prices).</param>
    /// <exception cref="InvalidOperationException">The model's prices are in another currency than <see cref="Currency"/>.</exception>
    public TokenPrices For(string? model)
    {
        if (model is null || Models.Count == 0)
        {
            return this;
        }

        var found = Models.FirstOrDefault(p => string.Equals(p.Key, model, StringComparison.OrdinalIgnoreCase)).Value
            ?? Models.Where(p => model.StartsWith(p.Key, StringComparison.OrdinalIgnoreCase)).OrderByDescending(p => p.Key.Length).Select(p => p.Value).FirstOrDefault();
        if (found is null)
        {
            return this;
        }

        return string.Equals(found.Currency, Currency, StringComparison.Ordinal)
            ? found
            : throw new InvalidOperationException($"The prices of model '{model}' are in {found.Currency}, but this price list is in {Currency}. Give every model's prices in {Currency}.");
    }

    /// <summary>Returns what <paramref name="usage"/> costs: at the prices of its <see cref="TokenUsage.Model"/> (see <see cref="For"/>).</summary>
    /// <exception cref="InvalidOperationException">The model's prices are in another currency than <see cref="Currency"/>.</exception>
    public decimal CostOf(TokenUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        var prices = For(usage.Model);
        return ((usage.InputTokens * prices.InputPerMillion) + (usage.OutputTokens * prices.OutputPerMillion)) / 1_000_000m;
    }
}
