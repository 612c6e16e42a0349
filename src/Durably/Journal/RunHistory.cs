namespace Durably.Journal;

/// <summary>Folds one run's journal into what replay and inspection need: each step's intents and outcome, which steps are
/// pending or in doubt, the signals already consumed, and how the run ended.</summary>
/// <remarks>
/// <para>This is the one reading of a journal's meaning: the runtime replays from it, and timelines, the journal replayer and
/// tools read runs through it, so they cannot disagree about what a journal says.</para>
/// <para>Built once from the entries and never changed afterwards, so it is safe to read from several threads. It reflects the
/// journal as read; entries appended later are not in it.</para>
/// </remarks>
public sealed class RunHistory
{
    private readonly Dictionary<int, StepHistory> _steps;
    private readonly HashSet<long> _consumedSignals;

    private RunHistory(RunStarted started, long nextSequence, Dictionary<int, StepHistory> steps, HashSet<long> consumedSignals, IReadOnlyList<RunResumed> resumptions, JournalEntry? end)
    {
        Started = started;
        NextSequence = nextSequence;
        _steps = steps;
        _consumedSignals = consumedSignals;
        Steps = [.. steps.Values.OrderBy(s => s.Step)];
        LastStep = steps.Count == 0 ? 0 : Steps[^1].Step;
        Resumptions = resumptions;
        End = end;
    }

    /// <summary>Gets the run's first entry: workflow, input, version, fork origin.</summary>
    public RunStarted Started { get; }

    /// <summary>Gets the sequence number the run's next entry takes (the number of entries folded).</summary>
    public long NextSequence { get; }

    /// <summary>Gets every step the journal mentions, in step-number order.</summary>
    public IReadOnlyList<StepHistory> Steps { get; }

    /// <summary>Gets the highest step number the journal mentions, 0 when none: a run whose code has not passed it yet is replaying.</summary>
    public int LastStep { get; }

    /// <summary>Gets the ids of the delivered signals that waits have consumed (see <see cref="SignalReceived.SignalId"/>).</summary>
    public IReadOnlySet<long> ConsumedSignalIds => _consumedSignals;

    /// <summary>Gets the resumption entries, one per activation after the first that wrote something.</summary>
    public IReadOnlyList<RunResumed> Resumptions { get; }

    /// <summary>Gets the entry that ended the run (<see cref="RunCompleted"/>, <see cref="RunFailed"/> or <see cref="RunCancelled"/>), or <see langword="null"/> while it is unfinished.</summary>
    public JournalEntry? End { get; }

    /// <summary>Gets a value indicating whether the journal records the run's end, so there is nothing left to execute.</summary>
    public bool IsFinished => End is not null;

    /// <summary>Gets the effect steps in doubt: intent journaled, no outcome for the latest attempt.</summary>
    public IEnumerable<StepHistory> InDoubt => Steps.Where(s => s.IsInDoubt);

    /// <summary>Gets the steps begun without a journaled outcome: waits that wait, retries that are due, effects in doubt.</summary>
    public IEnumerable<StepHistory> Pending => Steps.Where(s => !s.HasOutcome);

    /// <summary>Folds a run's journal.</summary>
    /// <param name="entries">The run's journal from sequence 0, in order.</param>
    /// <returns>The folded history.</returns>
    /// <exception cref="ArgumentException">The journal does not start with <see cref="RunStarted"/>.</exception>
    public static RunHistory FromJournal(IReadOnlyList<JournalEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0 || entries[0] is not RunStarted started)
        {
            throw new ArgumentException("A journal starts with a RunStarted entry.", nameof(entries));
        }

        var steps = new Dictionary<int, StepHistory>();
        var consumed = new HashSet<long>();
        var resumptions = new List<RunResumed>();
        JournalEntry? end = null;
        foreach (var entry in entries)
        {
            switch (entry)
            {
                case RunCompleted or RunFailed or RunCancelled:
                    end ??= entry;
                    break;
                case RunResumed resumed:
                    resumptions.Add(resumed);
                    break;
                case SignalReceived { SignalId: { } id } signal:
                    consumed.Add(id);
                    Step(signal.Step).Add(signal);
                    break;
                default:
                    if (StepOf(entry) is { } step)
                    {
                        Step(step).Add(entry);
                    }

                    break;
            }
        }

        return new RunHistory(started, entries.Count, steps, consumed, resumptions, end);

        StepHistory Step(int step)
        {
            if (!steps.TryGetValue(step, out var history))
            {
                history = new StepHistory(step);
                steps[step] = history;
            }

            return history;
        }
    }

    /// <summary>Returns what the journal holds for a step number, or <see langword="null"/> when it holds nothing.</summary>
    public StepHistory? Find(int step) => _steps.GetValueOrDefault(step);

    /// <summary>Returns the step number an entry belongs to, or <see langword="null"/> for run-level entries.</summary>
    public static int? StepOf(JournalEntry entry) => entry switch
    {
        StepStarted e => e.Step,
        StepCompleted e => e.Step,
        StepFailed e => e.Step,
        SignalReceived e => e.Step,
        TimerStarted e => e.Step,
        TimerFired e => e.Step,
        _ => null,
    };
}
