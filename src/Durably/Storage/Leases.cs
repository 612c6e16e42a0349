namespace Durably.Storage;

/// <summary>Describes a worker's time-limited, exclusive right to execute a run.</summary>
/// <param name="RunId">The leased run.</param>
/// <param name="Owner">The worker holding the lease.</param>
/// <param name="Epoch">The fencing token: it increases on every claim, and writes carrying an older epoch are refused.</param>
/// <param name="ExpiresAt">When the lease lapses unless renewed, by the store's clock.</param>
public sealed record RunLease(RunId RunId, string Owner, long Epoch, DateTimeOffset ExpiresAt);

/// <summary>Asks a store for runnable runs to lease.</summary>
public sealed record ClaimRequest
{
    /// <summary>Gets the claiming worker's name, unique among live workers.</summary>
    /// <remarks>A store may recognise a name whose worker has died and let its leases be claimed before they expire (the SQLite
    /// store does); a name in use by a live worker keeps its leases until they expire.</remarks>
    public required string Owner { get; init; }

    /// <summary>Gets the most runs to claim at once. Default 16.</summary>
    public int MaxRuns { get; init; } = 16;

    /// <summary>Gets how long a lease lasts unless renewed. Default 30 seconds.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets a value indicating whether runs whose unexpired lease is held by <see cref="Owner"/> are claimed too.</summary>
    /// <remarks>A worker restarting under the same owner name sets this once at start-up to take back the runs its previous
    /// incarnation held, without waiting for their leases to expire. Only safe when no other live process uses the same owner name.</remarks>
    public bool IncludeOwnLeases { get; init; }
}
