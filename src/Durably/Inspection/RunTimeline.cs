using Durably.Journal;
using Durably.Storage;

namespace Durably.Inspection;

/// <summary>Is a run's history as people read it: its steps with attempts, durations, tokens and replay counts, its waits and signals, and how it ended.</summary>
/// <remarks>Built from the journal alone (plus the index record and the signal inbox when given), so any process can build it: the CLI and the dashboard do.</remarks>
public sealed record RunTimeline
{
    /// <summary>Gets the run's id.</summary>
    public required RunId RunId { get; init; }

    /// <summary>Gets the workflow name.</summary>
    public required string Workflow { get; init; }

    /// <summary>Gets the workflow version recorded at start.</summary>
    public int WorkflowVersion { get; init; }

    /// <summary>Gets the run's status (from the index when given, else from the journal).</summary>
    public RunStatus Status { get; init; }

    /// <summary>Gets what a suspended run waits for, or why it stopped.</summary>
    public string? StatusDetail { get; init; }

    /// <summary>Gets when the run started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>Gets when the journal last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Gets the run's input.</summary>
    public Payload? Input { get; init; }

    /// <summary>Gets the run's result, when it completed.</summary>
    public Payload? Result { get; init; }

    /// <summary>Gets the run's error, when it failed.</summary>
    public ErrorInfo? Error { get; init; }

    /// <summary>Gets where the run was forked from, if it was.</summary>
    public ForkInfo? Fork { get; init; }

    /// <summary>Gets the run that started this one as a child (<see cref="RunContext.RunChildAsync{TInput, TResult}(string, TInput, ChildRunOptions?)"/>), if any.</summary>
    public RunId? ParentRunId { get; init; }

    /// <summary>Gets the parent's step that started this run, when <see cref="ParentRunId"/> is set.</summary>
    public int? ParentStep { get; init; }

    /// <summary>Gets the child runs this run started, by step: the <see cref="StepTimeline.ChildRunId"/> of its child steps.</summary>
    public IReadOnlyList<RunId> Children => [.. Steps.Where(s => s.ChildRunId is not null).Select(s => s.ChildRunId!.Value)];

    /// <summary>Gets the steps in step-number order.</summary>
    public required IReadOnlyList<StepTimeline> Steps { get; init; }

    /// <summary>Gets signals delivered to the run that no wait has consumed yet.</summary>
    public IReadOnlyList<DeliveredSignal> PendingSignals { get; init; } = [];

    /// <summary>Gets how many times workers resumed the run after an earlier activation.</summary>
    public int Resumptions { get; init; }

    /// <summary>Gets the tokens the run's model steps used when they ran (a fork's cache hits not included: they called no model).</summary>
    public TokenUsage TokensSpent { get; init; } = new(0, 0);

    /// <summary>Gets the tokens replay saved: each model step's tokens times the times it was replayed instead of called again, plus the tokens of a fork's cache hits.</summary>
    public TokenUsage TokensSaved { get; init; } = new(0, 0);

    /// <summary>Reads a run from a store and builds its timeline.</summary>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    public static async Task<RunTimeline> LoadAsync(IJournalStore store, RunId runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var run = await store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false) ?? throw new RunNotFoundException(runId);
        var entries = await store.ReadAsync(runId, 0, cancellationToken).ConfigureAwait(false);
        var signals = await store.ReadSignalsAsync(runId, 0, cancellationToken).ConfigureAwait(false);
        return Build(runId, entries, run, signals);
    }

    /// <summary>Builds a timeline from a run's journal.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="entries">The run's journal, from sequence 0.</param>
    /// <param name="run">The index record, for the current status; optional.</param>
    /// <param name="signals">The run's signal inbox, for pending signals; optional.</param>
    /// <exception cref="ArgumentException">The journal does not start with <see cref="RunStarted"/>.</exception>
    public static RunTimeline Build(RunId runId, IReadOnlyList<JournalEntry> entries, RunRecord? run = null, IReadOnlyList<DeliveredSignal>? signals = null)
    {
        var history = RunHistory.FromJournal(entries);
        var started = history.Started;
        var resumptions = history.Resumptions.Select(r => r.Sequence).ToList();
        var suspended = run?.Status == RunStatus.Suspended;
        var built = history.Steps.Select(s => TimelineOf(s, resumptions, suspended)).ToList();
        long spentIn = 0, spentOut = 0, savedIn = 0, savedOut = 0;
        foreach (var step in built.Where(s => s.Usage is not null))
        {
            // A fork's cache hit spent nothing: its tokens were spent by the source run, and it saved them once more.
            var spent = step.CacheHit ? 0 : 1;
            spentIn += step.Usage!.InputTokens * spent;
            spentOut += step.Usage.OutputTokens * spent;
            savedIn += step.Usage.InputTokens * (step.ReplayCount + 1 - spent);
            savedOut += step.Usage.OutputTokens * (step.ReplayCount + 1 - spent);
        }

        return new RunTimeline
        {
            RunId = runId,
            Workflow = started.Workflow,
            WorkflowVersion = started.WorkflowVersion,
            Status = run?.Status ?? history.End switch
            {
                RunCompleted => RunStatus.Completed,
                RunFailed => RunStatus.Failed,
                RunCancelled => RunStatus.Cancelled,
                _ => RunStatus.Running,
            },
            StatusDetail = run?.StatusDetail,
            StartedAt = started.Timestamp,
            UpdatedAt = entries[^1].Timestamp,
            Input = started.Input,
            Result = (history.End as RunCompleted)?.Result,
            Error = (history.End as RunFailed)?.Error,
            Fork = started.Fork,
            ParentRunId = started.ParentRunId,
            ParentStep = started.ParentRunId is null ? null : started.ParentStep,
            Steps = built,
            PendingSignals = signals?.Where(s => !history.ConsumedSignalIds.Contains(s.SignalId) && !IsTakenChildReport(history, s)).ToList() ?? [],
            Resumptions = resumptions.Count,
            TokensSpent = new TokenUsage(spentIn, spentOut),
            TokensSaved = new TokenUsage(savedIn, savedOut),
        };
    }

    private static StepTimeline TimelineOf(StepHistory step, List<long> resumptions, bool suspended)
    {
        var kind = step.Kind ?? (step.Signal is not null ? StepKind.Signal : StepKind.Compute);
        var state = step.LastOutcome switch
        {
            StepCompleted or TimerFired => StepState.Completed,
            StepFailed f => f.RetryAt is null ? StepState.Failed : StepState.Retrying,
            SignalReceived r => r.TimedOut ? StepState.TimedOut : StepState.Completed,
            _ => StepState.Running,
        };
        if (state == StepState.Running && step.HasOpenIntent)
        {
            // An effect's open intent is in doubt only once the run stopped with it; while it runs, it is running.
            state = kind == StepKind.Effect ? (suspended ? StepState.InDoubt : StepState.Running) : kind is StepKind.Signal or StepKind.Timer or StepKind.Child ? StepState.Waiting : StepState.Running;
        }

        var name = step.Name;
        var gate = kind == StepKind.Signal && name is not null ? SignalNames.GateOf(name) : null;
        var result = step.Completion is { } completion ? completion.Result : step.Signal?.Payload;
        var outcomes = step.Failures.Select(f => f.DurationMs).Append(step.Completion?.DurationMs);
        return new StepTimeline
        {
            Step = step.Step,
            Kind = kind,
            Name = name ?? "?",
            Attempts = Math.Max(1, Math.Max(step.Attempts, step.Completion?.Attempt ?? 0)),
            State = state,
            StartedAt = step.Intents.Count > 0 ? step.Intents[0].Timestamp : step.Timer?.Timestamp,
            EndedAt = step.LastOutcome?.Timestamp,
            DurationMs = step.Completion is null && step.Failures.Count == 0 ? null : outcomes.Sum(d => d ?? 0),
            Usage = step.Completion?.Usage,
            Result = result,
            Error = step.LastFailure?.Error,
            ResolvedBy = step.Completion?.ResolvedBy,
            CacheHit = step.Completion?.IsForkCacheHit == true,
            IdempotencyKey = step.Intents.Select(i => i.IdempotencyKey).FirstOrDefault(k => k is not null),
            InDoubtPolicy = step.Intent?.InDoubt,
            SignalName = step.Signal?.Name,
            ApprovalGate = gate,
            Decision = gate is not null && state == StepState.Completed ? DecisionOf(result, step.Signal?.Sender) : null,
            Sender = step.Signal?.Sender,
            DueAt = step.Timer?.DueAt,
            RetryAt = step.LastFailure?.RetryAt,
            ChildRunId = step.Intent?.ChildRunId,
            ChildStatus = kind != StepKind.Child ? null : step.Completion is not null ? RunStatus.Completed : step.LastFailure?.ChildStatus,
            ReplayCount = step.LastOutcome is { } outcome ? resumptions.Count(r => r > outcome.Sequence) : 0,
        };
    }

    // A child's report to a step that journaled an outcome (or a repeated report after a crash) is consumed, not pending.
    private static bool IsTakenChildReport(RunHistory history, DeliveredSignal signal)
        => signal.Name.StartsWith(SignalNames.ChildPrefix, StringComparison.Ordinal)
           && int.TryParse(signal.Name.AsSpan(SignalNames.ChildPrefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var step)
           && history.Find(step) is { HasOutcome: true };

    // Approval payloads are written by DurableClient.ApproveAsync as plain JSON; a codec-encoded one cannot be read here.
    private static ApprovalDecision? DecisionOf(Payload? payload, string? sender)
    {
        if (payload is not { IsJson: true })
        {
            return null;
        }

        try
        {
            var decision = payload.ToValue(DurablyJsonContext.Default.ApprovalPayload);
            return decision is null ? null : new ApprovalDecision(decision.Approved, sender, decision.Comment);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}

/// <summary>Says where a step is.</summary>
public enum StepState
{
    /// <summary>Started and not finished (or unfinished when the worker stopped).</summary>
    Running,

    /// <summary>Finished with a result.</summary>
    Completed,

    /// <summary>Failed for good.</summary>
    Failed,

    /// <summary>An attempt failed and another is scheduled.</summary>
    Retrying,

    /// <summary>Waiting for a signal, an approval, a timer or a child run.</summary>
    Waiting,

    /// <summary>A wait that ended by timing out.</summary>
    TimedOut,

    /// <summary>An effect whose intent is journaled without an outcome, waiting for a person to resolve it.</summary>
    InDoubt,
}

/// <summary>Is one step of a <see cref="RunTimeline"/>.</summary>
public sealed record StepTimeline
{
    /// <summary>Gets the step number.</summary>
    public required int Step { get; init; }

    /// <summary>Gets the step kind.</summary>
    public required StepKind Kind { get; init; }

    /// <summary>Gets the step name.</summary>
    public required string Name { get; init; }

    /// <summary>Gets how many attempts ran.</summary>
    public int Attempts { get; init; }

    /// <summary>Gets where the step is.</summary>
    public StepState State { get; init; }

    /// <summary>Gets when the step's intent was written (effects, waits) or its outcome, for steps journaled in one write.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>Gets when its outcome was written.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Gets how long its body ran in total, across attempts, in milliseconds.</summary>
    public double? DurationMs { get; init; }

    /// <summary>Gets the tokens a model step used.</summary>
    public TokenUsage? Usage { get; init; }

    /// <summary>Gets the recorded result (for waits, the signal payload).</summary>
    public Payload? Result { get; init; }

    /// <summary>Gets the last recorded error.</summary>
    public ErrorInfo? Error { get; init; }

    /// <summary>Gets who resolved the step when a person or a reconcile callback did (<c>fork-cache:{source}</c> and <c>dry-run:{source}</c> for a fork's reused results).</summary>
    public string? ResolvedBy { get; init; }

    /// <summary>Gets a value indicating whether the step is a fork's cache hit: a model step answered with the source run's recorded output for the same request, without calling the model (see <see cref="ForkRequest.ReuseModelOutputs"/>).</summary>
    public bool CacheHit { get; init; }

    /// <summary>Gets the idempotency key (effects).</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>Gets the in-doubt policy (effects).</summary>
    public InDoubtPolicy? InDoubtPolicy { get; init; }

    /// <summary>Gets the signal a wait consumed.</summary>
    public string? SignalName { get; init; }

    /// <summary>Gets the gate when the step is a wait for an approval (<see cref="RunContext.WaitForApprovalAsync"/>), else <see langword="null"/>.</summary>
    public string? ApprovalGate { get; init; }

    /// <summary>Gets the decision of a completed approval wait: approved or rejected, by whom, with what comment.</summary>
    public ApprovalDecision? Decision { get; init; }

    /// <summary>Gets who sent the consumed signal (for approvals: the approver).</summary>
    public string? Sender { get; init; }

    /// <summary>Gets when a timer (or a wait's timeout) is due.</summary>
    public DateTimeOffset? DueAt { get; init; }

    /// <summary>Gets when the next attempt is due.</summary>
    public DateTimeOffset? RetryAt { get; init; }

    /// <summary>Gets the child run a child step started (<see cref="StepKind.Child"/>), else <see langword="null"/>.</summary>
    public RunId? ChildRunId { get; init; }

    /// <summary>Gets how the child run ended, once the child step has its outcome: completed, failed, cancelled or compensated.</summary>
    public RunStatus? ChildStatus { get; init; }

    /// <summary>Gets how many later activations replayed this step from the journal instead of running it.</summary>
    public int ReplayCount { get; init; }
}
