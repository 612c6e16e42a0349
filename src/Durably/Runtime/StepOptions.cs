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

    /// <summary>Gets the longest one attempt of the step may run; no limit when <see langword="null"/>.</summary>
    /// <remarks>
    /// <para>When an attempt runs longer, the body's <see cref="StepContext.CancellationToken"/> is cancelled and the attempt fails
    /// with a <see cref="StepTimeoutException"/>, journaled as the attempt's failure; <see cref="Retry"/> decides whether another attempt
    /// runs (list <see cref="StepTimeoutException"/> in <see cref="RetryPolicy.NonRetryable"/> to fail the step instead).</para>
    /// <para>After the timeout the attempt is waited for <see cref="TimeoutGrace"/> at most: a body that stops on its token in that time
    /// ends the attempt (with the timeout, or with the result it returns); a body that ignores its token is abandoned, keeps running in
    /// the background, and its result or error is discarded. A retry may overlap it, so an effect's target should deduplicate by
    /// <see cref="StepContext.IdempotencyKey"/> (and refuse stale <see cref="StepContext.FencingToken"/>s). Measured with
    /// <see cref="DurableRuntimeOptions.TimeProvider"/>; it does not cover the retry backoff, only each attempt's body. Zero or
    /// negative: the step throws <see cref="ArgumentOutOfRangeException"/>.</para>
    /// </remarks>
    public TimeSpan? StartToCloseTimeout { get; init; }

    /// <summary>Gets how long a body whose <see cref="StartToCloseTimeout"/> or <see cref="HeartbeatTimeout"/> expired may take to stop on its cancelled token before its attempt is abandoned: 1 second.</summary>
    public static TimeSpan TimeoutGrace => StepRunner.TimeoutGrace;

    /// <summary>Gets how long the step may go without a sign of life before it is treated as hung or its worker as gone; no heartbeat when <see langword="null"/>.</summary>
    /// <remarks>
    /// <para>While such a step runs, its worker renews the run's lease every third of this (instead of every third of
    /// <see cref="DurableRuntimeOptions.LeaseDuration"/>) and keeps it at most this far ahead, so when the worker's process dies or
    /// freezes another worker can take the run over after about this long, not after a whole lease; the step's in-doubt policy then
    /// decides what happens to it (an effect: <see cref="InDoubt"/>; other kinds run again). Cancellation of the run reaches the
    /// body's token at each such renewal too.</para>
    /// <para>The body declares that it heartbeats by calling <see cref="StepContext.Heartbeat"/>. From its first call on, a gap of more
    /// than this between two calls means the body is hung: its token is cancelled and the attempt fails with a
    /// <see cref="StepTimeoutException"/> of kind <see cref="StepTimeoutKind.Heartbeat"/>, abandoned as with
    /// <see cref="StartToCloseTimeout"/>. A body that never calls it is watched only for its process being alive; bound it with
    /// <see cref="StartToCloseTimeout"/>.</para>
    /// <para>At least one second (the step throws <see cref="ArgumentOutOfRangeException"/> otherwise), so that renewals stay well apart
    /// from store round-trips; values longer than the lease duration leave the lease as it is.</para>
    /// </remarks>
    public TimeSpan? HeartbeatTimeout { get; init; }

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
