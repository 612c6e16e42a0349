namespace Durably;

/// <summary>Configures the start of a run.</summary>
public sealed record StartRunOptions
{
    /// <summary>Gets the run id; a new one when <see langword="null"/>. Starting an id that exists returns the existing run.</summary>
    public RunId? RunId { get; init; }

    /// <summary>Gets the queue the run is started on, or <see langword="null"/> to start it outside any queue (claimed as soon as a worker has room).</summary>
    /// <remarks>The queue must be configured in the store (<see cref="DurableClient.ConfigureQueueAsync"/>); its limits are enforced by the store
    /// across every worker (<see cref="Storage.IRunQueueStore"/>). Needs a store that implements <see cref="Storage.IRunQueueStore"/>.</remarks>
    public string? Queue { get; init; }

    /// <summary>Gets the run's partition key on its <see cref="Queue"/> (a tenant, a user) for per-key limits and debounce; <see langword="null"/> for the shared partition.</summary>
    public string? QueueKey { get; init; }

    /// <summary>Gets the run's priority on its <see cref="Queue"/>: higher first. Default 0.</summary>
    public int Priority { get; init; }

    /// <summary>Gets the debounce window: when a run of the same <see cref="Queue"/> and <see cref="QueueKey"/> started less than this long ago,
    /// no run is started and the start returns that run (<see cref="RunHandle.IsDebounced"/>). <see langword="null"/> for no debounce.</summary>
    /// <remarks>The window counts from the earlier run's start, so a stream of starts for one key starts at most one run per window
    /// (the first of each window wins; later starts merge into it). Decided in the store's transaction: race-free across processes.</remarks>
    public TimeSpan? Debounce { get; init; }

    /// <summary>Gets the name of the signal that carries a debounced start's input to the run it merged into; <see langword="null"/> to drop the input.</summary>
    /// <remarks>The store delivers the signal in the transaction that decides the debounce (<see cref="Storage.QueuePlacement.DebounceSignal"/>):
    /// a start that returned, or whose process died after the store committed, either started a run or merged its input into the earlier one,
    /// never neither. It is not delivered when the earlier run has finished (<see cref="RunHandle.IsDebounced"/> is still true). Needs
    /// <see cref="Debounce"/>. The workflow reads merged inputs with <see cref="RunContext.WaitForSignalAsync{T}(string, TimeSpan?)"/> or its inbox.</remarks>
    public string? DebounceSignal { get; init; }
}
