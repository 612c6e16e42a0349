using Durably.Journal;

namespace Durably;

/// <summary>Configures one durable step.</summary>
public sealed record StepOptions
{
    /// <summary>Gets what kind of work the step does. Default <see cref="StepKind.Compute"/>.</summary>
    public StepKind Kind { get; init; } = StepKind.Compute;

    /// <summary>Gets whether the step's target deduplicates by the idempotency key.</summary>
    /// <remarks>
    /// For effect steps: <see langword="true"/> makes <see cref="InDoubtPolicy.Retry"/> the default in-doubt policy;
    /// <see langword="null"/> (not said) makes <see cref="InDoubtPolicy.AskHuman"/> the default, the safe choice;
    /// <see langword="false"/> (marked non-idempotent) requires <see cref="InDoubt"/> to be set, so it cannot be forgotten.
    /// </remarks>
    public bool? Idempotent { get; init; }

    /// <summary>Gets what recovery does if the step's intent is journaled but not its outcome. See <see cref="Idempotent"/> for the default.</summary>
    public InDoubtPolicy? InDoubt { get; init; }

    /// <summary>Gets the callback that asks the outside world whether an in-doubt effect happened (for <see cref="InDoubtPolicy.Reconcile"/>).</summary>
    public Func<StepContext, Task<Reconciliation>>? Reconcile { get; init; }

    /// <summary>Gets the retry policy; the runtime's default when <see langword="null"/>.</summary>
    public RetryPolicy? Retry { get; init; }

    /// <summary>Gets the checkpoint policy for this call; the workflow's when <see langword="null"/>.</summary>
    public CheckpointPolicy? Checkpoint { get; init; }

    /// <summary>Gets values identifying the step's arguments; their hash is journaled and checked on replay.</summary>
    public object? Arguments { get; init; }

    /// <summary>Gets a check of a journaled result against this call, for what <see cref="Arguments"/> does not identify; <see langword="null"/> checks nothing more.</summary>
    /// <remarks>
    /// <para>It is called with the journaled result, decoded as the step's result type, before that result is reused, and returns
    /// <see langword="null"/> when the result answers this call, or what differs. On <see cref="StepReuse.Replay"/> a difference
    /// stops the run with a <see cref="NonDeterminismException"/> naming it, exactly as a changed argument hash does (the journal is
    /// not changed). On <see cref="StepReuse.Fork"/> a difference means the source run's result is not reused and the step runs.</para>
    /// <para>It runs on the workflow's flow and must not call durable members of <see cref="RunContext"/>.</para>
    /// </remarks>
    public Func<object?, StepReuse, StepMismatch?>? CheckRecorded { get; init; }

    /// <summary>Gets how the step is reported to OpenTelemetry (span name and attributes, the model for token metrics); plain <c>durably.step</c> spans when <see langword="null"/>.</summary>
    public StepTelemetry? Telemetry { get; init; }

    /// <summary>Gets an action that undoes the step; run (journaled) in reverse order when the run fails or is cancelled.</summary>
    public Func<StepContext, Task>? Compensate { get; init; }

    /// <summary>Creates options for an effect step whose target deduplicates by idempotency key (in doubt: retry).</summary>
    public static StepOptions IdempotentEffect { get; } = new() { Kind = StepKind.Effect, Idempotent = true };

    /// <summary>Creates options for an effect step with an explicit in-doubt policy.</summary>
    public static StepOptions Effect(InDoubtPolicy inDoubt) => new() { Kind = StepKind.Effect, InDoubt = inDoubt, Idempotent = inDoubt == InDoubtPolicy.Retry ? true : null };

    /// <summary>Creates options for a model call.</summary>
    public static StepOptions Model { get; } = new() { Kind = StepKind.Model };
}

/// <summary>Is a reconciliation callback's answer: the effect happened (with its result) or it did not.</summary>
public sealed class Reconciliation
{
    private Reconciliation(bool happened, object? result)
    {
        Happened = happened;
        Result = result;
    }

    /// <summary>Gets a value indicating whether the effect happened.</summary>
    public bool Happened { get; }

    /// <summary>Gets the effect's result when it happened.</summary>
    public object? Result { get; }

    /// <summary>Says the effect happened and gives its result, which is journaled as the step's outcome.</summary>
    public static Reconciliation Done(object? result = null) => new(true, result);

    /// <summary>Says the effect did not happen: the step runs again with the same idempotency key.</summary>
    public static Reconciliation NotDone { get; } = new(false, null);
}
