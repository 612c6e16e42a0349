using Durably.Journal;

namespace Durably.AI;

/// <summary>Prices model tokens, so token counts can be reported as money.</summary>
/// <param name="InputPerMillion">The price of one million input (prompt) tokens.</param>
/// <param name="OutputPerMillion">The price of one million output (completion) tokens.</param>
/// <param name="Currency">The currency the prices are in, for display. Default <c>USD</c>.</param>
public sealed record TokenPrices(decimal InputPerMillion, decimal OutputPerMillion, string Currency = "USD")
{
    /// <summary>Returns what <paramref name="usage"/> costs at these prices.</summary>
    public decimal CostOf(TokenUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        return ((usage.InputTokens * InputPerMillion) + (usage.OutputTokens * OutputPerMillion)) / 1_000_000m;
    }
}
