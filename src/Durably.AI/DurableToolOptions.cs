using Durably.Journal;

namespace Durably.AI;

/// <summary>Configures how a durable tool is journaled (see <see cref="DurableAIFunctionExtensions.AsDurable"/>).</summary>
/// <remarks>The in-doubt properties mean what they mean on <see cref="StepOptions"/>, and are checked the same way when the tool is first called.</remarks>
public sealed class DurableToolOptions
{
    /// <summary>Gets the step's name in the journal; <c>tool:{function name}</c> when <see langword="null"/>.</summary>
    public string? StepName { get; init; }

    /// <summary>Gets the step kind: <see cref="StepKind.Effect"/> (the default) for tools with side effects, or <see cref="StepKind.Compute"/> for read-only tools, which are journaled per the checkpoint policy and re-run safely.</summary>
    public StepKind Kind { get; init; } = StepKind.Effect;

    /// <inheritdoc cref="StepOptions.Idempotent"/>
    public bool? Idempotent { get; init; }

    /// <inheritdoc cref="StepOptions.InDoubt"/>
    public InDoubtPolicy? InDoubt { get; init; }

    /// <inheritdoc cref="StepOptions.Reconcile"/>
    /// <remarks>The result given to <see cref="Reconciliation.Done"/> is returned to the model as the tool's result.</remarks>
    public Func<StepContext, Task<Reconciliation>>? Reconcile { get; init; }

    /// <inheritdoc cref="StepOptions.Retry"/>
    public RetryPolicy? Retry { get; init; }

    /// <inheritdoc cref="StepOptions.Compensate"/>
    public Func<StepContext, Task>? Compensate { get; init; }

    /// <inheritdoc cref="StepOptions.StartToCloseTimeout"/>
    public TimeSpan? StartToCloseTimeout { get; init; }

    /// <inheritdoc cref="StepOptions.HeartbeatTimeout"/>
    /// <remarks>The tool heartbeats through <see cref="DurableAIFunction.CurrentStep"/> (<c>DurableAIFunction.CurrentStep?.Heartbeat()</c>); see <see cref="StepOptions.HeartbeatTimeout"/>.</remarks>
    public TimeSpan? HeartbeatTimeout { get; init; }

    /// <summary>Gets a value indicating whether the call's arguments are hashed into the journal and checked on replay. Default <see langword="true"/>.</summary>
    public bool VerifyArguments { get; init; } = true;
}
