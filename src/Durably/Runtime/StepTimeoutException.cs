namespace Durably;

/// <summary>Fails a step attempt that ran longer than its <see cref="StepOptions.StartToCloseTimeout"/> or stopped heartbeating for its <see cref="StepOptions.HeartbeatTimeout"/>.</summary>
/// <remarks>
/// The body's token was cancelled and the attempt waited at most <see cref="StepOptions.TimeoutGrace"/> for the body to stop: a body
/// that ignores its token is abandoned, and its result discarded. The attempt's failure is journaled with this exception's type and message, and the step's
/// <see cref="RetryPolicy"/> decides whether it runs again; when it does not, workflow code sees a <see cref="StepFailedException"/>
/// whose <see cref="StepFailedException.ErrorType"/> names this type.
/// </remarks>
public sealed class StepTimeoutException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public StepTimeoutException(string stepName, int step, int attempt, StepTimeoutKind kind, TimeSpan timeout, string? lastHeartbeatDetails = null)
        : base(MessageFor(stepName, step, attempt, kind, timeout) + (lastHeartbeatDetails is null ? string.Empty : $" Last heartbeat: {lastHeartbeatDetails}"))
    {
        LastHeartbeatDetails = lastHeartbeatDetails;
        StepName = stepName;
        Step = step;
        Attempt = attempt;
        Kind = kind;
        Timeout = timeout;
    }

    /// <summary>Gets the step's name.</summary>
    public string StepName { get; }

    /// <summary>Gets the step's number.</summary>
    public int Step { get; }

    /// <summary>Gets the attempt that timed out, starting at 1.</summary>
    public int Attempt { get; }

    /// <summary>Gets which limit was exceeded.</summary>
    public StepTimeoutKind Kind { get; }

    /// <summary>Gets the limit that was exceeded.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Gets the details the body gave to its last <see cref="StepContext.Heartbeat"/> call, or <see langword="null"/>.</summary>
    public string? LastHeartbeatDetails { get; }

    private static string MessageFor(string stepName, int step, int attempt, StepTimeoutKind kind, TimeSpan timeout) => kind switch
    {
        StepTimeoutKind.Heartbeat =>
            $"Step {step} '{stepName}' attempt {attempt} did not heartbeat for {timeout} (its HeartbeatTimeout), so it was treated as hung: its token was cancelled and the attempt failed. "
            + "Call StepContext.Heartbeat more often than HeartbeatTimeout while the work makes progress, or raise StepOptions.HeartbeatTimeout.",
        _ =>
            $"Step {step} '{stepName}' attempt {attempt} ran longer than its StartToCloseTimeout of {timeout}: its token was cancelled and the attempt failed. "
            + "Raise StepOptions.StartToCloseTimeout if the work needs longer; the step's retry policy decides whether it runs again.",
    };
}
