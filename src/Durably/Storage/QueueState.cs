namespace Durably.Storage;

/// <summary>Describes a queue as the store sees it now: its definition and how many of its unfinished runs are where.</summary>
/// <param name="Definition">The stored definition.</param>
public sealed record QueueState(QueueDefinition Definition)
{
    /// <summary>Gets the runs holding a slot: leased by a worker (executing, or their worker died and the lease has not expired).</summary>
    public int Running { get; init; }

    /// <summary>Gets the runs waiting for a slot: started or due to resume, and not leased.</summary>
    public int Queued { get; init; }

    /// <summary>Gets how many of the <see cref="Queued"/> runs a claim could not dequeue now because a limit (concurrency, per key, rate, pause) holds them back.</summary>
    public int Limited { get; init; }

    /// <summary>Gets the runs suspended until a signal, an approval or a timer; they hold no slot.</summary>
    public int Suspended { get; init; }

    /// <summary>Gets the runs first dequeued in the last <see cref="QueueDefinition.RateWindow"/>, as the rate limit counts them.</summary>
    public int DequeuedInWindow { get; init; }

    /// <summary>Gets the model tokens the queue's runs used in the last <see cref="QueueDefinition.RateWindow"/>, as <see cref="QueueDefinition.TokensPerMinute"/> counts them; 0 for a queue without a token limit (only a limited queue's tokens are recorded).</summary>
    public long TokensInWindow { get; init; }
}
