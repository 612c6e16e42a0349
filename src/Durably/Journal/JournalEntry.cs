using System.Text.Json.Serialization;
using Durably.Storage;

namespace Durably.Journal;

/// <summary>Is the base of every entry in a run's journal.</summary>
/// <remarks>
/// Entries are immutable and never updated in place. The wire format is JSON with a <c>type</c>
/// discriminator and a format version <c>v</c>; discriminators are never renamed and fields are only
/// added, so journals written by older versions keep reading (see <see cref="JournalSerializer"/>).
/// </remarks>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(RunStarted), "run.started")]
[JsonDerivedType(typeof(StepStarted), "step.started")]
[JsonDerivedType(typeof(StepCompleted), "step.completed")]
[JsonDerivedType(typeof(StepFailed), "step.failed")]
[JsonDerivedType(typeof(SignalReceived), "signal.received")]
[JsonDerivedType(typeof(TimerStarted), "timer.started")]
[JsonDerivedType(typeof(TimerFired), "timer.fired")]
[JsonDerivedType(typeof(RunCompleted), "run.completed")]
[JsonDerivedType(typeof(RunFailed), "run.failed")]
[JsonDerivedType(typeof(RunCancelled), "run.cancelled")]
[JsonDerivedType(typeof(RunResumed), "run.resumed")]
[JsonDerivedType(typeof(StepProgress), "step.progress")]
public abstract record JournalEntry
{
    /// <summary>Gets the wire format version the entry was written in.</summary>
    [JsonPropertyName("v")]
    [JsonPropertyOrder(-10)]
    public int FormatVersion { get; init; } = JournalSerializer.CurrentFormatVersion;

    /// <summary>Gets the entry's position in its run's journal: 0 for <see cref="RunStarted"/>, then contiguous.</summary>
    /// <remarks>Stores assign nothing; the writer sets it and the store checks it is the next one.</remarks>
    [JsonPropertyName("seq")]
    [JsonPropertyOrder(-9)]
    public long Sequence { get; init; }

    /// <summary>Gets when the entry was written (UTC, millisecond precision on the wire).</summary>
    [JsonPropertyName("at")]
    [JsonPropertyOrder(-8)]
    [JsonConverter(typeof(UnixMillisecondsConverter))]
    public DateTimeOffset Timestamp { get; init; }
}

/// <summary>Records that a run started: the first entry of every journal.</summary>
public sealed record RunStarted : JournalEntry
{
    /// <summary>Gets the registered name of the workflow the run executes.</summary>
    [JsonPropertyName("workflow")]
    public required string Workflow { get; init; }

    /// <summary>Gets the workflow's code version when the run started (used by patching).</summary>
    [JsonPropertyName("wfv")]
    public int WorkflowVersion { get; init; }

    /// <summary>Gets the encoded input of the run.</summary>
    [JsonPropertyName("input")]
    public Payload? Input { get; init; }

    /// <summary>Gets the change ids the starting code declared (see <c>RunContext.IsPatched</c>).</summary>
    [JsonPropertyName("patches")]
    public IReadOnlyList<string>? Patches { get; init; }

    /// <summary>Gets where the run was forked from, when it was made by forking another run.</summary>
    [JsonPropertyName("fork")]
    public ForkInfo? Fork { get; init; }

    /// <summary>Gets the run that started this one as a child (<c>RunContext.RunChildAsync</c>), if any.</summary>
    [JsonPropertyName("parent")]
    public RunId? ParentRunId { get; init; }

    /// <summary>Gets the number of the parent's step that started this run as a child, when <see cref="ParentRunId"/> is set.</summary>
    /// <remarks>The child reports its outcome to that step of the parent when it finishes.</remarks>
    [JsonPropertyName("pstep")]
    public int? ParentStep { get; init; }
}

/// <summary>Records the intent to run a step: written (durably, for effects) before the step's body runs.</summary>
public sealed record StepStarted : JournalEntry
{
    /// <summary>Gets the step's number in call order within the run, starting at 1.</summary>
    [JsonPropertyName("step")]
    public required int Step { get; init; }

    /// <summary>Gets what kind of work the step does.</summary>
    [JsonPropertyName("kind")]
    public required StepKind Kind { get; init; }

    /// <summary>Gets the step's name as given by the workflow code.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>Gets the idempotency key handed to the step body, derived from run id and step number.</summary>
    [JsonPropertyName("key")]
    public string? IdempotencyKey { get; init; }

    /// <summary>Gets a hash of the step's arguments when the code supplied them, checked on replay.</summary>
    [JsonPropertyName("hash")]
    public string? ArgumentHash { get; init; }

    /// <summary>Gets the attempt number, starting at 1.</summary>
    [JsonPropertyName("att")]
    public int Attempt { get; init; } = 1;

    /// <summary>Gets what recovery does when this step has an intent and no outcome.</summary>
    [JsonPropertyName("indoubt")]
    public InDoubtPolicy? InDoubt { get; init; }

    /// <summary>Gets the child run a <see cref="StepKind.Child"/> step starts and waits for.</summary>
    [JsonPropertyName("child")]
    public RunId? ChildRunId { get; init; }
}

/// <summary>Records a step's successful outcome.</summary>
public sealed record StepCompleted : JournalEntry
{
    /// <summary>Gets the step's number in call order within the run.</summary>
    [JsonPropertyName("step")]
    public required int Step { get; init; }

    /// <summary>Gets the encoded result, or <see langword="null"/> for a step without a result.</summary>
    [JsonPropertyName("res")]
    public Payload? Result { get; init; }

    /// <summary>Gets the attempt that produced the outcome.</summary>
    [JsonPropertyName("att")]
    public int Attempt { get; init; } = 1;

    /// <summary>Gets how long the step's body ran, in milliseconds.</summary>
    [JsonPropertyName("ms")]
    public double? DurationMs { get; init; }

    /// <summary>Gets the tokens a model step used, if it was a model call.</summary>
    [JsonPropertyName("usage")]
    public TokenUsage? Usage { get; init; }

    /// <summary>Gets how many step numbers the step used inside itself (a phase's inner steps), so replay can skip them.</summary>
    [JsonPropertyName("span")]
    public int? Span { get; init; }

    /// <summary>Gets who or what produced the outcome when not the step body (for example a person resolving an in-doubt step).</summary>
    [JsonPropertyName("by")]
    public string? ResolvedBy { get; init; }

    /// <summary>Gets a value indicating whether the outcome is a fork's cache hit: a model step answered with its source run's recorded output for the same request (<see cref="ResolvedBy"/> is <c>fork-cache:{source}</c>), which called no model.</summary>
    [JsonIgnore]
    public bool IsForkCacheHit => ResolvedBy?.StartsWith(ForkCachePrefix, StringComparison.Ordinal) == true;

    // What ResolvedBy starts with for a fork's cache hit.
    internal const string ForkCachePrefix = "fork-cache:";
}

/// <summary>Records that an attempt of a step failed.</summary>
public sealed record StepFailed : JournalEntry
{
    /// <summary>Gets the step's number in call order within the run.</summary>
    [JsonPropertyName("step")]
    public required int Step { get; init; }

    /// <summary>Gets the failure.</summary>
    [JsonPropertyName("error")]
    public required ErrorInfo Error { get; init; }

    /// <summary>Gets the attempt that failed.</summary>
    [JsonPropertyName("att")]
    public int Attempt { get; init; } = 1;

    /// <summary>Gets when the next attempt is due, or <see langword="null"/> when the failure is final.</summary>
    [JsonPropertyName("retry")]
    [JsonConverter(typeof(NullableUnixMillisecondsConverter))]
    public DateTimeOffset? RetryAt { get; init; }

    /// <summary>Gets how long the failed attempt ran, in milliseconds.</summary>
    [JsonPropertyName("ms")]
    public double? DurationMs { get; init; }

    /// <summary>Gets how the child run ended, when this is the outcome of a <see cref="StepKind.Child"/> step: failed, cancelled or compensated.</summary>
    /// <remarks><see cref="Error"/> then holds the child's own error (for a cancelled child, <see cref="OperationCanceledException"/> with the reason).</remarks>
    [JsonPropertyName("child")]
    public RunStatus? ChildStatus { get; init; }
}

/// <summary>Records that a waiting step consumed a signal.</summary>
public sealed record SignalReceived : JournalEntry
{
    /// <summary>Gets the number of the wait step that received the signal.</summary>
    [JsonPropertyName("step")]
    public required int Step { get; init; }

    /// <summary>Gets the signal's name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>Gets the signal's encoded payload.</summary>
    [JsonPropertyName("payload")]
    public Payload? Payload { get; init; }

    /// <summary>Gets who sent the signal, when the sender identified itself.</summary>
    [JsonPropertyName("sender")]
    public string? Sender { get; init; }

    /// <summary>Gets the store-assigned id of the delivered signal, or <see langword="null"/> for a timeout.</summary>
    [JsonPropertyName("sid")]
    public long? SignalId { get; init; }

    /// <summary>Gets a value indicating whether the wait ended by timing out instead of receiving a signal.</summary>
    [JsonPropertyName("timeout")]
    public bool TimedOut { get; init; }
}

/// <summary>Records that a durable timer was started.</summary>
public sealed record TimerStarted : JournalEntry
{
    /// <summary>Gets the number of the step that owns the timer.</summary>
    [JsonPropertyName("step")]
    public required int Step { get; init; }

    /// <summary>Gets when the timer is due (UTC).</summary>
    [JsonPropertyName("due")]
    [JsonConverter(typeof(UnixMillisecondsConverter))]
    public required DateTimeOffset DueAt { get; init; }

    /// <summary>Gets the step's name, for timelines.</summary>
    [JsonPropertyName("name")]
    public string? Name { get; init; }
}

/// <summary>Records that a durable timer fired.</summary>
public sealed record TimerFired : JournalEntry
{
    /// <summary>Gets the number of the step that owns the timer.</summary>
    [JsonPropertyName("step")]
    public required int Step { get; init; }
}

/// <summary>Records that a run completed with a result.</summary>
public sealed record RunCompleted : JournalEntry
{
    /// <summary>Gets the encoded result of the run.</summary>
    [JsonPropertyName("res")]
    public Payload? Result { get; init; }
}

/// <summary>Records that a run failed.</summary>
public sealed record RunFailed : JournalEntry
{
    /// <summary>Gets the failure.</summary>
    [JsonPropertyName("error")]
    public required ErrorInfo Error { get; init; }
}

/// <summary>Records that a run was cancelled.</summary>
public sealed record RunCancelled : JournalEntry
{
    /// <summary>Gets why the run was cancelled, if a reason was given.</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; init; }
}

/// <summary>Records that a worker resumed the run after an earlier activation: written with the activation's first write.</summary>
/// <remarks>Steps whose outcome precedes this entry were replayed from the journal by this activation, so counting these
/// entries gives each step's replay count and the tokens replay saved.</remarks>
public sealed record RunResumed : JournalEntry
{
    /// <summary>Gets how many steps this activation answered from the journal before its first write.</summary>
    [JsonPropertyName("replayed")]
    public int ReplayedSteps { get; init; }

    /// <summary>Gets the worker that resumed the run.</summary>
    [JsonPropertyName("worker")]
    public string? Worker { get; init; }

    /// <summary>Gets the lease epoch of that worker.</summary>
    [JsonPropertyName("epoch")]
    public long LeaseEpoch { get; init; }
}

/// <summary>Describes where a forked run came from.</summary>
/// <param name="Source">The run it was forked from.</param>
/// <param name="AtStep">The last step copied from the source; the fork runs again from the step after it.</param>
public sealed record ForkInfo(
    [property: JsonPropertyName("source")] RunId Source,
    [property: JsonPropertyName("at")] int AtStep)
{
    /// <summary>Gets a value indicating whether model steps beyond <see cref="AtStep"/> reuse the source's recorded outputs for the same request (see <see cref="ForkRequest.ReuseModelOutputs"/>).</summary>
    [JsonPropertyName("reuse_models")]
    public bool ReuseModelOutputs { get; init; }

    /// <summary>Gets a value indicating whether effect steps return the source's recorded results instead of running, and fail loudly where there is none.</summary>
    [JsonPropertyName("dry_run")]
    public bool DryRun { get; init; }
}
