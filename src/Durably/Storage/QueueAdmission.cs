using Durably.Journal;

namespace Durably.Storage;

/// <summary>Decides which waiting runs of one queue a claim may dequeue now, given what holds slots and what was dequeued lately.</summary>
/// <remarks>
/// <para>The limit logic of <see cref="IRunQueueStore"/>, written once for every store: a store reads the queue's state inside its
/// claim transaction (serialized per queue), asks <c>Admit</c>, and leases what it returns. Candidates must come in the
/// queue's order: <see cref="QueuePlacement.Priority"/> descending, then resumed before new, then oldest.</para>
/// <para>A candidate the limits hold back does not block those behind it with another key: a per-key limit holds back only its key.</para>
/// </remarks>
public static class QueueAdmission
{
    /// <summary>Returns the candidates to dequeue, in order, at most <paramref name="maxRuns"/>.</summary>
    /// <param name="definition">The queue's limits.</param>
    /// <param name="running">The partition key (or <see langword="null"/>) of every run of the queue that holds a slot (a live lease).</param>
    /// <param name="dequeuedInWindow">The partition key of every run of the queue first dequeued within <see cref="QueueDefinition.RateWindow"/>.</param>
    /// <param name="candidates">The queue's waiting runs, in the queue's order.</param>
    /// <param name="maxRuns">The most runs to dequeue.</param>
    public static IReadOnlyList<QueueCandidate<T>> Admit<T>(QueueDefinition definition, IEnumerable<string?> running, IEnumerable<string?> dequeuedInWindow, IEnumerable<QueueCandidate<T>> candidates, int maxRuns)
        => Admit(definition, running, dequeuedInWindow, [], candidates, maxRuns);

    /// <summary>Returns the candidates to dequeue, in order, at most <paramref name="maxRuns"/>, counting the queue's model tokens too.</summary>
    /// <param name="definition">The queue's limits.</param>
    /// <param name="running">The partition key (or <see langword="null"/>) of every run of the queue that holds a slot (a live lease).</param>
    /// <param name="dequeuedInWindow">The partition key of every run of the queue first dequeued within <see cref="QueueDefinition.RateWindow"/>.</param>
    /// <param name="tokensInWindow">The model tokens the queue's runs used within <see cref="QueueDefinition.RateWindow"/>, by partition key.</param>
    /// <param name="candidates">The queue's waiting runs, in the queue's order.</param>
    /// <param name="maxRuns">The most runs to dequeue.</param>
    /// <remarks>While the tokens (of the queue, or of the candidate's key with <see cref="QueueDefinition.RateLimitPerKey"/>) reach
    /// <see cref="QueueDefinition.TokensPerMinute"/>, no candidate is admitted, first dequeue or not.</remarks>
    public static IReadOnlyList<QueueCandidate<T>> Admit<T>(QueueDefinition definition, IEnumerable<string?> running, IEnumerable<string?> dequeuedInWindow, IEnumerable<QueueTokenUse> tokensInWindow, IEnumerable<QueueCandidate<T>> candidates, int maxRuns)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(dequeuedInWindow);
        ArgumentNullException.ThrowIfNull(tokensInWindow);
        ArgumentNullException.ThrowIfNull(candidates);
        var admitted = new List<QueueCandidate<T>>();
        if (definition.Paused || maxRuns <= 0)
        {
            return admitted;
        }

        var runningTotal = 0;
        var runningByKey = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var key in running)
        {
            runningTotal++;
            Increment(runningByKey, key);
        }

        var windowTotal = 0;
        var windowByKey = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var key in dequeuedInWindow)
        {
            windowTotal++;
            Increment(windowByKey, key);
        }

        long tokensTotal = 0;
        var tokensByKey = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var use in tokensInWindow)
        {
            tokensTotal += use.Tokens;
            var key = use.Key ?? string.Empty;
            tokensByKey[key] = tokensByKey.GetValueOrDefault(key) + use.Tokens;
        }

        if (definition.TokensPerMinute is { } budget && !definition.RateLimitPerKey && tokensTotal >= budget)
        {
            return admitted;
        }

        foreach (var candidate in candidates)
        {
            if (admitted.Count >= maxRuns || (definition.MaxConcurrency is { } max && runningTotal >= max))
            {
                break;
            }

            var key = candidate.Key ?? string.Empty;
            if (definition.MaxConcurrencyPerKey is { } perKey && runningByKey.GetValueOrDefault(key) >= perKey)
            {
                continue;
            }

            if (definition.TokensPerMinute is { } keyBudget && definition.RateLimitPerKey && tokensByKey.GetValueOrDefault(key) >= keyBudget)
            {
                continue;
            }

            if (candidate.FirstDequeue && definition.RunsPerMinute is { } rate)
            {
                var used = definition.RateLimitPerKey ? windowByKey.GetValueOrDefault(key) : windowTotal;
                if (used >= rate)
                {
                    // Runs resuming further down are not counted by the rate and may still go.
                    continue;
                }

                windowTotal++;
                Increment(windowByKey, candidate.Key);
            }

            runningTotal++;
            Increment(runningByKey, candidate.Key);
            admitted.Add(candidate);
        }

        return admitted;
    }

    /// <summary>Returns the model tokens an entry records as used, as <see cref="QueueDefinition.TokensPerMinute"/> counts them: a model step's
    /// completion with <see cref="StepCompleted.Usage"/>, not resolved by anything but its body (a fork's cache hit or a dry run's reuse called no
    /// model); 0 for any other entry.</summary>
    /// <param name="entry">The entry a run appends.</param>
    public static long TokensUsed(JournalEntry entry)
        => entry is StepCompleted { Usage: { } usage, ResolvedBy: null } ? Math.Max(0, usage.TotalTokens) : 0;

    private static void Increment(Dictionary<string, int> counts, string? key)
    {
        key ??= string.Empty;
        counts[key] = counts.GetValueOrDefault(key) + 1;
    }
}
