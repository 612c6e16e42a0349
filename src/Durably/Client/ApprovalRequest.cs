namespace Durably;

/// <summary>Asks <see cref="DurableClient.ApproveAsync(ApprovalRequest, CancellationToken)"/> to approve or reject at an approval gate.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Gate">The gate, as the workflow passed it to <see cref="RunContext.WaitForApprovalAsync"/>.</param>
/// <param name="Approver">Who decides; journaled with the decision.</param>
public sealed record ApprovalRequest(RunId RunId, string Gate, string Approver)
{
    /// <summary>Gets a value indicating whether the gate is approved; <see langword="false"/> rejects. Default <see langword="true"/>.</summary>
    public bool Approved { get; init; } = true;

    /// <summary>Gets a comment journaled with the decision. Default none.</summary>
    public string? Comment { get; init; }
}
