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

    /// <summary>Returns what this process observed of a run: model steps executed and replayed, and their tokens.</summary>
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
                Spent = new TokenUsage(counters.SpentIn, counters.SpentOut),
                Saved = new TokenUsage(counters.SavedIn, counters.SavedOut),
                ModelCallsExecuted = counters.Executed,
                ModelCallsReplayed = counters.Replayed,
            };
        }
    }

    /// <summary>Returns <see cref="GetReport"/> plus the tokens the run's journal records for all its model steps.</summary>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    public async Task<RunCostReport> GetReportAsync(IJournalStore store, RunId runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var entries = await store.ReadAsync(runId, 0, cancellationToken).ConfigureAwait(false);
        var models = entries.OfType<StepStarted>().Where(s => s.Kind == StepKind.Model).Select(s => s.Step).ToHashSet();
        long input = 0, output = 0;
        var calls = 0;
        foreach (var completed in entries.OfType<StepCompleted>().Where(c => models.Contains(c.Step)))
        {
            calls++;
            input += completed.Usage?.InputTokens ?? 0;
            output += completed.Usage?.OutputTokens ?? 0;
        }

        return GetReport(runId) with { Journaled = new TokenUsage(input, output), JournaledModelCalls = calls };
    }

    /// <inheritdoc/>
    public override void OnStepCompleted(RunId runId, StepInfo step, TimeSpan duration, TokenUsage? usage, bool failed)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.Kind != StepKind.Model || failed)
        {
            return;
        }

        var counters = _runs.GetOrAdd(runId, static _ => new Counters());
        lock (counters)
        {
            counters.Executed++;
            counters.SpentIn += usage?.InputTokens ?? 0;
            counters.SpentOut += usage?.OutputTokens ?? 0;
        }
    }

    /// <inheritdoc/>
    public override void OnStepReplayed(RunId runId, StepInfo step, TokenUsage? usage)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.Kind != StepKind.Model)
        {
            return;
        }

        var counters = _runs.GetOrAdd(runId, static _ => new Counters());
        lock (counters)
        {
            counters.Replayed++;
            counters.SavedIn += usage?.InputTokens ?? 0;
            counters.SavedOut += usage?.OutputTokens ?? 0;
        }
    }

    private sealed class Counters
    {
        public int Executed;
        public int Replayed;
        public long SpentIn;
        public long SpentOut;
        public long SavedIn;
        public long SavedOut;
    }
}
