namespace Durably;

/// <summary>Asks <see cref="DurableClient.CancelAsync(CancelRequest, CancellationToken)"/> to cancel a run.</summary>
/// <param name="RunId">The run to cancel.</param>
public sealed record CancelRequest(RunId RunId)
{
    /// <summary>Gets the reason, journaled in the run's <see cref="Journal.RunCancelled"/> entry. Default <c>cancelled</c>.</summary>
    public string Reason { get; init; } = "cancelled";
}
