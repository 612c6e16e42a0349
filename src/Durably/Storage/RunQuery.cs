namespace Durably.Storage;

/// <summary>Filters and pages a run listing.</summary>
public sealed record RunQuery
{
    /// <summary>Gets the statuses to include, or <see langword="null"/> for all.</summary>
    public IReadOnlyCollection<RunStatus>? Statuses { get; init; }

    /// <summary>Gets the workflow name to match, or <see langword="null"/> for all.</summary>
    public string? Workflow { get; init; }

    /// <summary>Gets the largest number of runs in one page. Default 100; at most 1000.</summary>
    public int PageSize { get; init; } = 100;

    /// <summary>Gets the token from the previous page, or <see langword="null"/> for the first page.</summary>
    public string? ContinuationToken { get; init; }

    /// <summary>Gets a value indicating whether runs are listed newest first (the default) or oldest first.</summary>
    public bool NewestFirst { get; init; } = true;
}

/// <summary>Holds one page of a run listing.</summary>
/// <param name="Runs">The runs on this page.</param>
/// <param name="ContinuationToken">The token for the next page, or <see langword="null"/> when this is the last.</param>
public sealed record RunPage(IReadOnlyList<RunRecord> Runs, string? ContinuationToken);
