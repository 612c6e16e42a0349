namespace Durably.Storage;

/// <summary>Says how long finished runs are kept, and whether they are archived before they are purged.</summary>
/// <remarks>
/// <para>A pass (<see cref="JournalRetention.RunAsync"/>) purges, for each finished status with a keep time, the runs whose last
/// change is older than that; with <see cref="ArchiveDirectory"/> set it first writes them to a JSON lines file in the
/// <c>durably journal export</c> format (<see cref="Journal.JournalExport"/>), synced before anything is deleted. Then it
/// collects the payload blobs no remaining run refers to. Unfinished runs (pending, running, suspended) are never purged.</para>
/// <para>The host runs passes every <see cref="Interval"/> (<c>AddDurably().AddRetention(...)</c>).</para>
/// </remarks>
public sealed class RetentionPolicy
{
    /// <summary>Gets how long completed runs are kept, or <see langword="null"/> to keep them forever. Default 30 days.</summary>
    public TimeSpan? KeepCompleted { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Gets how long failed runs are kept, or <see langword="null"/> to keep them forever. Default 90 days.</summary>
    public TimeSpan? KeepFailed { get; init; } = TimeSpan.FromDays(90);

    /// <summary>Gets how long cancelled and compensated runs are kept, or <see langword="null"/> to keep them forever. Default 30 days.</summary>
    public TimeSpan? KeepCancelled { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Gets the folder that receives a JSON lines archive of the runs each pass purges, or <see langword="null"/> (the default) to purge without archiving.</summary>
    public string? ArchiveDirectory { get; init; }

    /// <summary>Gets how often the host runs a pass. Default 1 hour.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Gets the most runs purged per status and call to the store; a pass calls again until fewer are left. Default 1,000.</summary>
    public int BatchSize { get; init; } = 1000;

    /// <summary>Gets a value indicating whether a pass collects unreferenced payload blobs after purging (on stores that offload payloads). Default <see langword="true"/>.</summary>
    public bool CollectBlobs { get; init; } = true;

    /// <summary>Checks the policy.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A keep time or the interval is not positive, or the batch size is less than 1.</exception>
    public void Validate()
    {
        foreach (var (keep, name) in new[] { (KeepCompleted, nameof(KeepCompleted)), (KeepFailed, nameof(KeepFailed)), (KeepCancelled, nameof(KeepCancelled)) })
        {
            if (keep is { } value && value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive (or null to keep those runs forever).");
            }
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Interval, TimeSpan.Zero, nameof(Interval));
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
    }
}

/// <summary>Reports one retention pass.</summary>
/// <param name="Purged">The runs purged.</param>
/// <param name="Entries">The journal entries they held.</param>
/// <param name="ArchiveFile">The archive written, or <see langword="null"/> when nothing was archived.</param>
/// <param name="Blobs">What the blob collection did, or <see langword="null"/> when it did not run.</param>
public sealed record RetentionResult(IReadOnlyList<RunId> Purged, long Entries, string? ArchiveFile, BlobCollectionResult? Blobs);
