namespace Durably;

/// <summary>Says how often and how soon a failed step is tried again.</summary>
/// <remarks>
/// Each failed attempt is journaled with the time of the next attempt. A backoff shorter than
/// <see cref="DurableRuntimeOptions.MaxInMemoryWait"/> is waited in memory; a longer one suspends the run
/// as a durable timer, so no thread is held and a restart keeps the schedule.
/// </remarks>
public sealed record RetryPolicy
{
    /// <summary>Gets a policy that never retries.</summary>
    public static RetryPolicy None { get; } = new() { MaxAttempts = 1 };

    /// <summary>Gets the default policy: 3 attempts, 1 s initial backoff doubling up to 1 min, 20% jitter.</summary>
    public static RetryPolicy Default { get; } = new();

    /// <summary>Gets the most attempts, the first included. Default 3.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Gets the backoff before the second attempt. Default 1 second.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets the factor the backoff grows by after each attempt. Default 2.</summary>
    public double BackoffCoefficient { get; init; } = 2;

    /// <summary>Gets the longest backoff. Default 1 minute.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Gets the random spread applied to each backoff, as a fraction (0 to 1). Default 0.2.</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>Gets exception types that are never retried (subclasses included).</summary>
    public IReadOnlyList<Type> NonRetryable { get; init; } = [];

    /// <summary>Gets an extra check: return false to stop retrying an exception.</summary>
    public Func<Exception, bool>? ShouldRetry { get; init; }

    internal bool CanRetry(Exception exception, int attempt)
    {
        if (attempt >= MaxAttempts || exception is OperationCanceledException)
        {
            return false;
        }

        var type = exception.GetType();
        if (NonRetryable.Any(t => t.IsAssignableFrom(type)))
        {
            return false;
        }

        return ShouldRetry?.Invoke(exception) ?? true;
    }

    internal TimeSpan DelayAfter(int attempt, Random random)
    {
        var delay = InitialDelay.TotalMilliseconds * Math.Pow(BackoffCoefficient, attempt - 1);
        delay = Math.Min(delay, MaxDelay.TotalMilliseconds);
        var spread = Math.Clamp(Jitter, 0, 1) * delay;
        delay += (random.NextDouble() * 2 - 1) * spread;
        return TimeSpan.FromMilliseconds(Math.Max(0, delay));
    }
}
