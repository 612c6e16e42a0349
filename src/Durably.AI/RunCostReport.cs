namespace Durably.AI;

/// <summary>Reports the tokens a run spent on model calls and the tokens replay saved, with their cost when prices are known, in total and per model.</summary>
/// <remarks>Made by <see cref="TokenAccounting"/>. Steps without reported usage count as calls with zero tokens. Costs are summed per model, each at its own prices (<see cref="TokenPrices.Models"/>).</remarks>
public sealed record RunCostReport
{
    /// <summary>Gets the run.</summary>
    public required RunId RunId { get; init; }

    /// <summary>Gets the tokens of the model steps this process executed to completion.</summary>
    /// <remarks>A call whose outcome a crash kept from the journal is not counted: the runtime reports a step when its outcome is durable (or, for a step its checkpoint policy does not journal, when it returns).</remarks>
    public TokenUsage Spent { get; init; } = Zero;

    /// <summary>Gets the tokens of the steps this process returned from the journal instead of calling the model again (a fork's cache hits included).</summary>
    public TokenUsage Saved { get; init; } = Zero;

    /// <summary>Gets the number of model steps this process executed.</summary>
    public int ModelCallsExecuted { get; init; }

    /// <summary>Gets the number of model steps this process replayed from the journal (a fork's cache hits included).</summary>
    public int ModelCallsReplayed { get; init; }

    /// <summary>Gets the tokens recorded in the run's whole journal for model calls, by every process that executed it (a fork's cache hits not included: they called no model), or <see langword="null"/> when the journal was not read.</summary>
    public TokenUsage? Journaled { get; init; }

    /// <summary>Gets the number of model steps with an outcome in the journal that called a model (a fork's cache hits not included), or <see langword="null"/> when the journal was not read.</summary>
    public int? JournaledModelCalls { get; init; }

    /// <summary>Gets the step numbers of a fork's cache hits: model steps answered with the source run's output for the same request (see <see cref="ForkRequest.ReuseModelOutputs"/>); <see langword="null"/> when the journal was not read.</summary>
    public IReadOnlyList<int>? CacheHits { get; init; }

    /// <summary>Gets the tokens the cache hits would have cost had they called the model, or <see langword="null"/> when the journal was not read.</summary>
    public TokenUsage? CacheHitTokens { get; init; }

    /// <summary>Gets the report per model id, in order of first use; empty when no model step was seen.</summary>
    public IReadOnlyList<ModelTokens> ByModel { get; init; } = [];

    /// <summary>Gets the prices the costs are computed with, or <see langword="null"/> when none were given.</summary>
    public TokenPrices? Prices { get; init; }

    /// <summary>Gets what <see cref="Spent"/> cost, each model at its prices, or <see langword="null"/> without prices.</summary>
    public decimal? SpentCost => Prices is null ? null : ByModel.Count == 0 ? Prices.CostOf(Spent) : ByModel.Sum(m => m.SpentCost ?? 0);

    /// <summary>Gets what <see cref="Saved"/> would have cost, each model at its prices, or <see langword="null"/> without prices.</summary>
    public decimal? SavedCost => Prices is null ? null : ByModel.Count == 0 ? Prices.CostOf(Saved) : ByModel.Sum(m => m.SavedCost ?? 0);

    /// <summary>Gets what <see cref="Journaled"/> cost, each model at its prices, or <see langword="null"/> without prices or without the journal.</summary>
    public decimal? JournaledCost => Journaled is null || Prices is null ? null : ByModel.Count == 0 ? Prices.CostOf(Journaled) : ByModel.Sum(m => m.JournaledCost ?? 0);

    internal static TokenUsage Zero { get; } = new(0, 0);
}
