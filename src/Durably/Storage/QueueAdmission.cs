namespace Durably.Storage;

/// <summary>Decides which waiting runs of one queue a claim may dequeue now, given what holds slots and what was dequeued lately.</summary>
/// <remarks>
/// <para>The limit logic of <see cref="IRunQueueStore"/>, written once for every store: a store reads the queue's state inside its
/// claim transaction (serialized per queue), asks <see cref="Admit"/>, and leases what it returns. Candidates must come in the
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
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(dequeuedInWindow);
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

    private static void Increment(Dictionary<string, int> counts, string? key)
    {
        key ??= string.Empty;
        counts[key] = counts.GetValueOrDefault(key) + 1;
    }
}
