namespace Durably;

/// <summary>Where a <see cref="DurableRuntime"/> is in its life: see <see cref="DurableRuntime.GetStatus"/>.</summary>
public enum DurableRuntimeState
{
    /// <summary><see cref="DurableRuntime.StartAsync"/> has not been called or has not returned yet.</summary>
    NotStarted,

    /// <summary>Started: the runtime claims and executes runs.</summary>
    Running,

    /// <summary><see cref="DurableRuntime.StopAsync"/> was called and runs in flight are being abandoned.</summary>
    Stopping,

    /// <summary>Stopped: no run executes here any more.</summary>
    Stopped,

    /// <summary>The loop that claims runs ended without being stopped; nothing new is claimed. Restart the host.</summary>
    Faulted,
}
