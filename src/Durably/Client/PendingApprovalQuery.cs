namespace Durably;

/// <summary>Selects the approval gates <see cref="DurableClient.ListPendingApprovalsAsync"/> lists.</summary>
public sealed record PendingApprovalQuery
{
    /// <summary>Gets the workflow whose runs are listed; all workflows when <see langword="null"/>. Default <see langword="null"/>.</summary>
    public string? Workflow { get; init; }

    /// <summary>Gets the most gates listed, newest run first. Default 100.</summary>
    public int MaxCount { get; init; } = 100;
}
