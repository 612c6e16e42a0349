using System.Collections.Concurrent;
using Durably.Journal;
using Durably.Storage;

namespace Durably.AI;

/// <summary>Counts the tokens model steps spend and the tokens replay saves, per run, and prices them.</summary>
/// <remarks>
/// <para>Add it to a runtime with <see cref="DurableRuntime.AddObserver"/>: it counts, per run, the usage of every model step
/// the runtime executes and of every model step it replays from the journal instead (the usage is recorded with each
/// step's outcome by <see cref="StepContext.ReportUsage"/>, which <see cref="DurableChatClient"/> calls).
/// <see cref="GetReportAsync"/> adds what the run's journal records over all processes that executed it.</para>
/// <para>Tokens are counted per model id (<see cref="TokenUsage.Model"/>) and priced at that model's prices (<see cref="TokenPrices.Models"/>);
/// <see cref="RunCostReport.ByModel"/> gives the breakdown. A fork's cache hits count as replayed (saved), not spent.</para>
/// <para>Thread-safe. Only <see cref="StepKind.Model"/> steps are counted.</para>
/// </remarks>
public sealed class TokenAccounting : RunObserver
{
    private readonly ConcurrentDictionary<RunId, Counters> _runs = new();

    /// <summary>Creates an accounting observer.</summary>
    /// <param name="prices">The token prices for costs; without them reports carry token counts only.</param>
    public TokenAccounting(TokenPrices? prices = null)
    {
        Prices = prices;
    }

    /// <summary>Gets the token prices, if any.</summary>
    public TokenPrices? Prices { get; }

    /// <summary>Returns what this process observed of a run: model steps executed and replayed, and their tokens, in total and per model.</summary>
    public RunCostReport GetReport(RunId runId)
    {
        var counters = _runs.GetValueOrDefault(runId);
        if (counters is null)
        {
            return new RunCostReport { RunId = runId, Prices = Prices };
        }

        lock (counters)
        {
            return new RunCostReport
            {
                RunId = runId,
                Prices = Prices,
                Spent = Sum(counters.Models.Values.Select(m => m.Spent)),
                Saved = Sum(counters.Models.Values.Select(m => m.Saved)),
                ModelCallsExecuted = counters.Models.Values.Sum(m => m.Executed),
                ModelCallsReplayed = counters.Models.Values.Sum(m => m.Replayed),
                ByModel = [.. counters.Models.Select(m => new ModelTokens
                {
                    Model = m.Key.Model,
                    Prices = Prices,
                    Spent = m.Value.Spent with { Model = m.Key.Model },
                    Saved = m.Value.Saved with { Model = m.Key.Model },
                    ModelCallsExecuted = m.Value.Executed,
                    ModelCallsReplayed = m.Value.Replayed,
                })],
            };
        }
    }

    /// <summary>Returns <see cref="GetReport"/> plus what the run's journal records for all its model steps: the tokens spent on model calls, per model, and a fork's cache hits.</summary>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    public async Task<RunCostReport> GetReportAsync(IJournalStore store, RunId runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var entries = await store.ReadAsync(runId, 0, cancellationToken).ConfigureAwait(false);
        var models = entries.OfType<StepStarted>().Where(s => s.Kind == StepKind.Model).Select(s => s.Step).ToHashSet();
        var journaled = new Dictionary<ModelKey, TokenUsage>();
        var hits = new List<int>();
        var hitTokens = RunCostReport.Zero;
        var calls = 0;
        foreach (var completed in entries.OfType<StepCompleted>().Where(c => models.Contains(c.Step)))
        {
            var usage = completed.Usage ?? RunCostReport.Zero;
            if (completed.IsForkCacheHit)
            {
                hits.Add(completed.Step);
                hitTokens = Add(hitTokens, usage);
                continue;
            }

            calls++;
            var key = new ModelKey(usage.Model);
            journaled[key] = Add(journaled.GetValueOrDefault(key) ?? RunCostReport.Zero, usage);
        }

        var report = GetReport(runId);
        var byModel = report.ByModel.ToDictionary(m => new ModelKey(m.Model));
        foreach (var (key, usage) in journaled)
        {
            byModel[key] = (byModel.GetValueOrDefault(key) ?? new ModelTokens { Model = key.Model, Prices = Prices }) with { Journaled = usage with { Model = key.Model } };
        }

        return report with
        {
            Journaled = Sum(journaled.Values),
            JournaledModelCalls = calls,
            CacheHits = hits,
            CacheHitTokens = hitTokens,
            ByModel = [.. byModel.Values.Select(m => m.Journaled is null ? m with { Journaled = new TokenUsage(0, 0) { Model = m.Model } } : m)],
        };
    }

    /// <inheritdoc/>
    public override void OnStepCompleted(RunId runId, StepInfo step, TimeSpan duration, TokenUsage? usage, bool failed)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.Kind != StepKind.Model || failed)
        {
            return;
        }

        Count(runId, usage, replayed: false);
    }

    /// <inheritdoc/>
    public override void OnStepReplayed(RunId runId, StepInfo step, TokenUsage? usage)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.Kind != StepKind.Model)
        {
            return;
        }

        Count(runId, usage, replayed: true);
    }

    private void Count(RunId runId, TokenUsage? usage, bool replayed)
    {
        var counters = _runs.GetOrAdd(runId, static _ => new Counters());
        var key = new ModelKey(usage?.Model);
        lock (counters)
        {
            if (!counters.Models.TryGetValue(key, out var model))
            {
                counters.Models[key] = model = new ModelCounters();
            }

            if (replayed)
            {
                model.Replayed++;
                model.Saved = Add(model.Saved, usage);
            }
            else
            {
                model.Executed++;
                model.Spent = Add(model.Spent, usage);
            }
        }
    }

    private static TokenUsage Add(TokenUsage sum, TokenUsage? usage)
        => usage is null ? sum : new TokenUsage(sum.InputTokens + usage.InputTokens, sum.OutputTokens + usage.OutputTokens);

    private static TokenUsage Sum(IEnumerable<TokenUsage> usages) => usages.Aggregate(RunCostReport.Zero, Add);

    // A dictionary key for a model id that may be null (steps that reported no model).
    private readonly record struct ModelKey(string? Model);

    private sealed class ModelCounters
    {
        public int Executed;
        public int Replayed;
        public TokenUsage Spent = RunCostReport.Zero;
        public TokenUsage Saved = RunCostReport.Zero;
    }

    private sealed class Counters
    {
        // In order of first use: Dictionary keeps insertion order while nothing is removed.
        public readonly Dictionary<ModelKey, ModelCounters> Models = [];
    }
}
