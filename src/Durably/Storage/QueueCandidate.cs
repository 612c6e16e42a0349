namespace Durably.Storage;

/// <summary>Describes one waiting run of a queue for <see cref="QueueAdmission"/>.</summary>
/// <typeparam name="T">The store's handle on the run (a row id, a run id).</typeparam>
/// <param name="Id">The store's handle on the run.</param>
/// <param name="Key">The run's partition key, or <see langword="null"/>.</param>
/// <param name="FirstDequeue">Whether this dequeue would be the run's first (it counts against the rate limit); <see langword="false"/> for a run resuming.</param>
public readonly record struct QueueCandidate<T>(T Id, string? Key, bool FirstDequeue);

/// <summary>Counts the model tokens one partition key of a queue used within <see cref="QueueDefinition.RateWindow"/>, for <see cref="QueueAdmission"/>.</summary>
/// <param name="Key">The partition key, or <see langword="null"/>.</param>
/// <param name="Tokens">The tokens, summed or one record of them (several records of one key add up).</param>
public readonly record struct QueueTokenUse(string? Key, long Tokens);
