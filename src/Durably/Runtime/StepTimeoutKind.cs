namespace Durably;

/// <summary>Says which limit of a step attempt was exceeded (see <see cref="StepTimeoutException"/>).</summary>
public enum StepTimeoutKind
{
    /// <summary>The attempt ran longer than <see cref="StepOptions.StartToCloseTimeout"/>.</summary>
    StartToClose,

    /// <summary>The body, after heartbeating once, went longer than <see cref="StepOptions.HeartbeatTimeout"/> without heartbeating again.</summary>
    Heartbeat,
}
