namespace Durably.Storage;

/// <summary>Selects finished runs to delete for retention.</summary>
/// <remarks>Unfinished runs (pending, running, suspended) are never deleted, whatever the request says.</remarks>
public sealed record PurgeRequest
{
    /// <summary>Gets the finished statuses to delete; each must be <see cref="RunStatus.Completed"/>, <see cref="RunStatus.Failed"/>, <see cref="RunStatus.Cancelled"/> or <see cref="RunStatus.Compensated"/>.</summary>
    public required IReadOnlyCollection<RunStatus> Statuses { get; init; }

    /// <summary>Gets the cut-off: only runs whose last change is older than this are deleted.</summary>
    public required DateTimeOffset FinishedBefore { get; init; }

    /// <summary>Gets a value indicating whether to only report what would be deleted.</summary>
    public bool DryRun { get; init; }

    /// <summary>Gets the most runs deleted in one call. Default 10,000.</summary>
    public int MaxRuns { get; init; } = 10_000;

    /// <summary>Checks the request.</summary>
    /// <exception cref="ArgumentException">A status is not a finished one, or the limits are off.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Statuses);
        if (Statuses.Count == 0 || Statuses.Any(s => !s.IsFinished()))
        {
            throw new ArgumentException("Purge deletes finished runs only: give one or more of Completed, Failed, Cancelled, Compensated.", nameof(Statuses));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRuns, 1);
    }
}

/// <summary>Reports what a purge deleted (or, for a dry run, would delete).</summary>
/// <param name="Runs">The runs deleted or selected.</param>
/// <param name="Entries">The journal entries they held.</param>
/// <param name="DryRun">Whether nothing was deleted.</param>
public sealed record PurgeResult(IReadOnlyList<RunId> Runs, long Entries, bool DryRun);
