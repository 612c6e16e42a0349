namespace Durably.Storage;

/// <summary>Describes a run as the store indexes it: its status, its wake-up time and its lease.</summary>
public sealed record RunRecord
{
    /// <summary>Gets the run's id.</summary>
    public required RunId RunId { get; init; }

    /// <summary>Gets the workflow name the run executes.</summary>
    public required string Workflow { get; init; }

    /// <summary>Gets the run's status.</summary>
    public required RunStatus Status { get; init; }

    /// <summary>Gets when the run was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Gets when the run's journal or status last changed.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Gets the sequence the next journal entry must have (the number of entries so far).</summary>
    public required long NextSequence { get; init; }

    /// <summary>Gets when a suspended run becomes runnable again (a timer, a retry backoff, a signal's arrival).</summary>
    public DateTimeOffset? WakeAt { get; init; }

    /// <summary>Gets what a suspended run waits for (for example <c>signal:approval</c>), or why a run stopped when its journal says nothing (for example a non-determinism error).</summary>
    public string? StatusDetail { get; init; }

    /// <summary>Gets the worker that holds the run's lease, if any.</summary>
    public string? LeaseOwner { get; init; }

    /// <summary>Gets the lease epoch: it increases on every claim and fences writes by earlier holders.</summary>
    public long LeaseEpoch { get; init; }

    /// <summary>Gets when the current lease expires, if the run is leased.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; init; }

    /// <summary>Gets the queue the run was started on (<see cref="IRunQueueStore"/>), or <see langword="null"/>.</summary>
    public string? Queue { get; init; }

    /// <summary>Gets the run's partition key on its queue, or <see langword="null"/>.</summary>
    public string? QueueKey { get; init; }
}
