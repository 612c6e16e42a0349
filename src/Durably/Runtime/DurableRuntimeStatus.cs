namespace Durably;

/// <summary>Describes what a <see cref="DurableRuntime"/> is doing now, for health checks and diagnostics.</summary>
/// <remarks>A snapshot: it does not change as the runtime goes on.</remarks>
public sealed record DurableRuntimeStatus
{
    /// <summary>Gets the worker's name (<see cref="DurableRuntimeOptions.WorkerId"/>).</summary>
    public required string WorkerId { get; init; }

    /// <summary>Gets where the runtime is in its life.</summary>
    public required DurableRuntimeState State { get; init; }

    /// <summary>Gets how many runs execute here now.</summary>
    public required int ActiveRuns { get; init; }

    /// <summary>Gets when the runtime last asked the store for runnable runs without an error (by <see cref="DurableRuntimeOptions.TimeProvider"/>); null before the first time.</summary>
    /// <remarks>While started it polls every <see cref="DurableRuntimeOptions.PollInterval"/> (sooner when woken), so an old value with a
    /// <see cref="LastPollError"/> means the store keeps failing, and an old value without one means the loop is stuck.</remarks>
    public DateTimeOffset? LastPollAt { get; init; }

    /// <summary>Gets the error of the last poll, or null when it succeeded.</summary>
    public Exception? LastPollError { get; init; }
}
