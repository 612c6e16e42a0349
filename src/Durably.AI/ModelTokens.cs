namespace Durably.AI;

/// <summary>Reports one model's share of a <see cref="RunCostReport"/>: its tokens spent, saved and journaled, and their cost at that model's prices.</summary>
/// <remarks>Each <see cref="TokenUsage"/> here carries <see cref="Model"/> as its <see cref="TokenUsage.Model"/>.</remarks>
public sealed record ModelTokens
{
    /// <summary>Gets the model id the steps reported (see <see cref="TokenUsage.Model"/>), or <see langword="null"/> for steps that reported none.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the tokens of this model's steps this process executed.</summary>
    public TokenUsage Spent { get; init; } = RunCostReport.Zero;

    /// <summary>Gets the tokens of this model's steps this process returned from the journal (or a fork's source) instead of calling the model.</summary>
    public TokenUsage Saved { get; init; } = RunCostReport.Zero;

    /// <summary>Gets the number of this model's steps this process executed.</summary>
    public int ModelCallsExecuted { get; init; }

    /// <summary>Gets the number of this model's steps this process replayed.</summary>
    public int ModelCallsReplayed { get; init; }

    /// <summary>Gets the tokens the run's journal records for this model's calls (fork cache hits not included), or <see langword="null"/> when the journal was not read.</summary>
    public TokenUsage? Journaled { get; init; }

    /// <summary>Gets the prices the costs are computed with, or <see langword="null"/> when none were given.</summary>
    public TokenPrices? Prices { get; init; }

    /// <summary>Gets what <see cref="Spent"/> cost at this model's prices, or <see langword="null"/> without prices.</summary>
    public decimal? SpentCost => Prices?.CostOf(Spent);

    /// <summary>Gets what <see cref="Saved"/> would have cost at this model's prices, or <see langword="null"/> without prices.</summary>
    public decimal? SavedCost => Prices?.CostOf(Saved);

    /// <summary>Gets what <see cref="Journaled"/> cost at this model's prices, or <see langword="null"/> without prices or without the journal.</summary>
    public decimal? JournaledCost => Journaled is null ? null : Prices?.CostOf(Journaled);
}
