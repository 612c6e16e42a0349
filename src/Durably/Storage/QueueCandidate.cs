namespace Durably.Storage;

/// <summary>Describes one waiting run of a queue for <see cref="QueueAdmission.Admit"/>.</summary>
/// <typeparam name="T">The store's handle on the run (a row id, a run id).</typeparam>
/// <param name="Id">The store's handle on the run.</param>
/// <param name="Key">The run's partition key, or <see langword="null"/>.</param>
/// <param name="FirstDequeue">Whether this dequeue would be the run's first (it counts against the rate limit); <see langword="false"/> for a run resuming.</param>
public readonly record struct QueueCandidate<T>(T Id, string? Key, bool FirstDequeue);
