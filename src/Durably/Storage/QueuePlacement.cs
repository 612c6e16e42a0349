namespace Durably.Storage;

/// <summary>Places a new run on a named queue: its partition key, priority and debounce.</summary>
/// <param name="Queue">The queue's name; it must have been configured (<see cref="IRunQueueStore.ConfigureQueueAsync"/>).</param>
public sealed record QueuePlacement(string Queue)
{
    private const int MaxNameLength = 200;

    /// <summary>Gets the partition key (a tenant, a user) that <see cref="QueueDefinition.MaxConcurrencyPerKey"/> and a per-key rate limit count by; <see langword="null"/> for the queue's shared partition.</summary>
    public string? Key { get; init; }

    /// <summary>Gets the run's priority: a queue dequeues higher priorities first, then runs resuming after a suspension, then the oldest. Default 0.</summary>
    public int Priority { get; init; }

    /// <summary>Gets the debounce window: when a run of the same queue and <see cref="Key"/> was started less than this long ago, no run is started and the start returns that run instead. <see langword="null"/> for no debounce.</summary>
    /// <remarks>Decided in the store's transaction, so two starts racing from different processes never both start a run.</remarks>
    public TimeSpan? DebounceWindow { get; init; }

    /// <summary>Gets a signal to deliver to the earlier run when the start is debounced; <see langword="null"/> for none.</summary>
    /// <remarks>Delivered in the same store transaction as the debounce decision, so a process that dies right after the start
    /// either started a run or merged its signal into the earlier one, never neither. Not delivered when the earlier run has
    /// finished (nobody would read it; <see cref="QueuedStart.Signal"/> is then <see langword="null"/>). Needs
    /// <see cref="DebounceWindow"/>.</remarks>
    public SignalMessage? DebounceSignal { get; init; }

    /// <summary>Checks the placement's fields.</summary>
    /// <exception cref="ArgumentException">The queue name or key is empty or too long, a debounce has no key or a window that is not positive, or a debounce signal has no window.</exception>
    public void Validate()
    {
        CheckQueueName(Queue, nameof(Queue));
        if (Key is not null && (Key.Length == 0 || Key.Length > MaxNameLength))
        {
            throw new ArgumentException($"The partition key of a run on queue '{Queue}' must be 1 to {MaxNameLength} characters, or null for the shared partition.", nameof(Key));
        }

        if (DebounceWindow is { } window)
        {
            if (window <= TimeSpan.Zero)
            {
                throw new ArgumentException($"The debounce window of a run on queue '{Queue}' is {window}; it must be positive (or null for no debounce).", nameof(DebounceWindow));
            }

            if (Key is null)
            {
                throw new ArgumentException($"A debounced start on queue '{Queue}' needs a partition key: debounce means \"start this run for key K unless one started for K within the window\". Set Key.", nameof(Key));
            }
        }
        else if (DebounceSignal is not null)
        {
            throw new ArgumentException($"A start on queue '{Queue}' sets DebounceSignal but no DebounceWindow: the signal is delivered only when the start is debounced. Set DebounceWindow.", nameof(DebounceSignal));
        }
    }

    internal static void CheckQueueName(string name, string parameter)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxNameLength || name.Any(char.IsControl))
        {
            throw new ArgumentException($"The queue name '{name}' is not allowed: use 1 to {MaxNameLength} characters without control characters.", parameter);
        }
    }
}
