namespace Durably.Storage;

/// <summary>Describes a named queue's limits, stored in the journal store so that every worker of the store enforces the same ones.</summary>
/// <remarks>
/// <para>A run occupies one of its queue's concurrency slots while it holds a live lease: while a worker executes it, and after
/// that worker died until its lease expires (so a limit stays true while workers are killed). A suspended run (waiting for a signal,
/// an approval or a timer) holds no slot and needs one again to resume.</para>
/// <para>The rate limit counts runs <em>first dequeued</em> in the last 60 seconds (a sliding window, by the store's clock): a run
/// resuming after a suspension or a crash is not counted again, and is not held back by the rate limit, only by concurrency.</para>
/// <para>Definitions are data, like runs: <see cref="IRunQueueStore.ConfigureQueueAsync"/> replaces the stored definition whole,
/// and the last write wins. Every claim reads the definition current at that moment.</para>
/// </remarks>
/// <param name="Name">The queue's name: 1 to 200 characters, no control characters.</param>
public sealed record QueueDefinition(string Name)
{
    /// <summary>The length of the rate limit's sliding window.</summary>
    public static readonly TimeSpan RateWindow = TimeSpan.FromMinutes(1);

    /// <summary>Gets the most runs of the queue holding a slot at once, across all keys and workers; <see langword="null"/> for no limit. Zero holds every run back.</summary>
    public int? MaxConcurrency { get; init; }

    /// <summary>Gets the most runs of one partition key (<see cref="QueuePlacement.Key"/>) holding a slot at once; <see langword="null"/> for no limit.</summary>
    /// <remarks>Runs started without a key share one partition.</remarks>
    public int? MaxConcurrencyPerKey { get; init; }

    /// <summary>Gets the most runs first dequeued in any sliding 60 seconds (<see cref="RateWindow"/>); <see langword="null"/> for no limit.</summary>
    public int? RunsPerMinute { get; init; }

    /// <summary>Gets the most model tokens the queue's runs may use in any sliding 60 seconds (<see cref="RateWindow"/>) before the queue stops dequeuing; <see langword="null"/> for no limit.</summary>
    /// <remarks>
    /// <para>Tokens are counted when a model step's completion is journaled: the <see cref="TokenUsage.TotalTokens"/> of every
    /// <see cref="Journal.StepCompleted"/> with <see cref="Journal.StepCompleted.Usage"/> that a run of the queue appends (not a fork's
    /// cache hit or a dry run's reuse, which called no model), at the store's clock. While the tokens in the window reach the limit,
    /// no run of the queue is dequeued: neither a new one nor one resuming (a resumed run calls the model again). Runs already
    /// executing go on, so the window can pass the limit by what they use: the limit stops new work, it does not gate each call.
    /// Pair it with <see cref="MaxConcurrency"/> to bound that overshoot.</para>
    /// <para>With <see cref="RateLimitPerKey"/> the tokens of each partition key are counted and limited on their own.</para>
    /// </remarks>
    public long? TokensPerMinute { get; init; }

    /// <summary>Gets a value indicating whether <see cref="RunsPerMinute"/> and <see cref="TokensPerMinute"/> apply to each partition key on its own rather than to the whole queue. Default <see langword="false"/>.</summary>
    public bool RateLimitPerKey { get; init; }

    /// <summary>Gets a value indicating whether the queue dequeues nothing: its runs stay queued (running ones go on) until it is configured unpaused.</summary>
    public bool Paused { get; init; }

    /// <summary>Checks the definition's fields.</summary>
    /// <exception cref="ArgumentException">The name is empty or too long, or a limit is negative.</exception>
    public void Validate()
    {
        QueuePlacement.CheckQueueName(Name, nameof(Name));
        if (MaxConcurrency is < 0 || MaxConcurrencyPerKey is < 0 || RunsPerMinute is < 0 || TokensPerMinute is < 0)
        {
            throw new ArgumentException($"Queue '{Name}' has a negative limit (MaxConcurrency {MaxConcurrency}, MaxConcurrencyPerKey {MaxConcurrencyPerKey}, RunsPerMinute {RunsPerMinute}, TokensPerMinute {TokensPerMinute}). Use null for no limit and 0 to hold every run back.", nameof(MaxConcurrency));
        }
    }
}
