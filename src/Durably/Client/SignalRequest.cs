namespace Durably;

/// <summary>Asks <see cref="DurableClient.SignalAsync(SignalRequest, CancellationToken)"/> to deliver a signal to a run.</summary>
/// <param name="RunId">The run to signal.</param>
/// <param name="Name">The signal name the run waits for (<see cref="RunContext.WaitForSignalAsync{T}(string, TimeSpan?)"/>). Names starting
/// with <c>$</c> or <c>approval:</c> are reserved for the runtime's own signals (cancel, approvals, in-doubt resolutions) and refused.</param>
public sealed record SignalRequest(RunId RunId, string Name)
{
    /// <summary>Gets the signal's value, encoded with the client's codec; a <see cref="Journal.Payload"/> is delivered as it is (already encoded). Default none.</summary>
    public object? Payload { get; init; }

    /// <summary>Gets who sends the signal, journaled with it (<see cref="ApprovalDecision.Approver"/> for approvals). Default none.</summary>
    public string? Sender { get; init; }
}
