using Durably.Journal;

namespace Durably.AI;

/// <summary>Reports the tokens a run spent on model calls and the tokens replay saved, with their cost when prices are known.</summary>
/// <remarks>Made by <see cref="TokenAccounting"/>. Steps without reported usage count as calls with zero tokens.</remarks>
public sealed record RunCostReport
{
    /// <summary>Gets the run.</summary>
    public required RunId RunId { get; init; }

    /// <summary>Gets the tokens of the model steps this process executed to completion.</summary>
    /// <remarks>A call whose outcome a crash kept from the journal is not counted: the runtime reports a step when its outcome is durable (or, for a step its checkpoint policy does not journal, when it returns).</remarks>
    public TokenUsage Spent { get; init; } = Zero;

    /// <summary>Gets the tokens of the steps this process returned from the journal instead of calling the model again.</summary>
    public TokenUsage Saved { get; init; } = Zero;

    /// <summary>Gets the number of model steps this process executed.</summary>
    public int ModelCallsExecuted { get; init; }

    /// <summary>Gets the number of model steps this process replayed from the journal.</summary>
    public int ModelCallsReplayed { get; init; }

    /// <summary>Gets the tokens recorded in the run's whole journal, by every process that executed it, or <see langword="null"/> when the journal was not read.</summary>
    public TokenUsage? Journaled { get; init; }

    /// <summary>Gets the number of model steps with an outcome in the journal, or <see langword="null"/> when the journal was not read.</summary>
    public int? JournaledModelCalls { get; init; }

    /// <summary>Gets the prices the costs are computed with, or <see langword="null"/> when none were given.</summary>
    public TokenPrices? Prices { get; init; }

    /// <summary>Gets what <see cref="Spent"/> cost, or <see langword="null"/> without prices.</summary>
    public decimal? SpentCost => Prices?.CostOf(Spent);

    /// <summary>Gets what <see cref="Saved"/> would have cost, or <see langword="null"/> without prices.</summary>
    public decimal? SavedCost => Prices?.CostOf(Saved);

    /// <summary>Gets what <see cref="Journaled"/> cost, or <see langword="null"/> without prices or without the journal.</summary>
    public decimal? JournaledCost => Journaled is null ? null : Prices?.CostOf(Journaled);

    internal static TokenUsage Zero { get; } = new(0, 0);
}
