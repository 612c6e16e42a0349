namespace Durably.Journal;

/// <summary>Holds what one run's journal records about one step number: its intents, failed attempts, outcome, signal and timer.</summary>
/// <remarks>
/// <para>Built by <see cref="RunHistory.FromJournal"/> and never changed afterwards, so it is safe to read from several threads.</para>
/// <para>A step replays when <see cref="HasOutcome"/> is <see langword="true"/>: the runtime then returns the journaled result (or
/// failure, signal, timer) instead of running the step again.</para>
/// </remarks>
public sealed class StepHistory
{
    private readonly List<StepStarted> _intents = [];
    private readonly List<StepFailed> _failures = [];

    internal StepHistory(int step) => Step = step;

    /// <summary>Gets the step number (call order within the run, starting at 1).</summary>
    public int Step { get; }

    /// <summary>Gets the kind the latest intent records, or <see langword="null"/> when the journal holds no intent for this step.</summary>
    public StepKind? Kind => Intent?.Kind;

    /// <summary>Gets the step name: the latest intent's, else the name its timer or signal records.</summary>
    public string? Name => Intent?.Name ?? Timer?.Name ?? Signal?.Name;

    /// <summary>Gets the latest argument hash an intent recorded, checked on replay; <see langword="null"/> when none was.</summary>
    public string? ArgumentHash { get; private set; }

    /// <summary>Gets the latest intent (the current attempt's <see cref="StepStarted"/>), or <see langword="null"/>.</summary>
    public StepStarted? Intent => _intents.Count == 0 ? null : _intents[^1];

    /// <summary>Gets every intent in journal order: one per journaled attempt.</summary>
    public IReadOnlyList<StepStarted> Intents => _intents;

    /// <summary>Gets every failed attempt in journal order.</summary>
    public IReadOnlyList<StepFailed> Failures => _failures;

    /// <summary>Gets the latest failed attempt, or <see langword="null"/>.</summary>
    public StepFailed? LastFailure => _failures.Count == 0 ? null : _failures[^1];

    /// <summary>Gets the successful outcome, or <see langword="null"/>.</summary>
    public StepCompleted? Completion { get; private set; }

    /// <summary>Gets the signal (or timeout) a wait step consumed, or <see langword="null"/>.</summary>
    public SignalReceived? Signal { get; private set; }

    /// <summary>Gets the timer a sleep started, or a wait's deadline, or <see langword="null"/>.</summary>
    public TimerStarted? Timer { get; private set; }

    /// <summary>Gets the firing of the step's timer, or <see langword="null"/>.</summary>
    public TimerFired? TimerFired { get; private set; }

    /// <summary>Gets the latest outcome entry: a <see cref="StepCompleted"/>, <see cref="StepFailed"/>, <see cref="SignalReceived"/> or <see cref="Journal.TimerFired"/>.</summary>
    public JournalEntry? LastOutcome { get; private set; }

    /// <summary>Gets a value indicating whether the step's latest entry is an intent: an attempt, wait or effect has begun and nothing after it is journaled.</summary>
    public bool HasOpenIntent { get; private set; }

    /// <summary>Gets the highest attempt number the journal records for the step (0 when none).</summary>
    /// <remarks>A live re-run continues with the next number, so attempt numbers are never reused.</remarks>
    public int Attempts { get; private set; }

    /// <summary>Gets a value indicating whether the latest attempt failed and no retry is scheduled.</summary>
    public bool FailedForGood => Completion is null && LastFailure is { RetryAt: null } failure && failure.Attempt >= (Intent?.Attempt ?? 0);

    /// <summary>Gets a value indicating whether the step is an effect whose latest attempt has an intent and no outcome.</summary>
    /// <remarks>Whether such an effect happened is unknown; its <see cref="InDoubtPolicy"/> decides what recovery does.</remarks>
    public bool IsInDoubt => Kind == StepKind.Effect && Completion is null && Intent is { } intent && (LastFailure is null || LastFailure.Attempt < intent.Attempt);

    /// <summary>Gets a value indicating whether the step's outcome is journaled, so replay returns it without running anything.</summary>
    public bool HasOutcome => Completion is not null || FailedForGood || Signal is not null || TimerFired is not null;

    internal void Add(JournalEntry entry)
    {
        switch (entry)
        {
            case StepStarted started:
                _intents.Add(started);
                ArgumentHash = started.ArgumentHash ?? ArgumentHash;
                Attempts = Math.Max(Attempts, started.Attempt);
                HasOpenIntent = true;
                return;
            case StepCompleted completed:
                Completion = completed;
                break;
            case StepFailed failed:
                _failures.Add(failed);
                Attempts = Math.Max(Attempts, failed.Attempt);
                break;
            case SignalReceived signal:
                Signal = signal;
                break;
            case TimerFired fired:
                TimerFired = fired;
                break;
            case TimerStarted timer:
                Timer = timer;
                return;
            default:
                return;
        }

        LastOutcome = entry;
        HasOpenIntent = false;
    }
}
