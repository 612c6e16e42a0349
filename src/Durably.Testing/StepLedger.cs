using Durably.Journal;
using Durably.Storage;

namespace Durably.Testing;

// Counts step bodies as a scenario's runtimes execute them, before and after the crash, by run (the run under test and the
// child runs it starts) and step.
internal sealed class StepLedger : RunObserver
{
    private readonly Lock _gate = new();
    private readonly List<(RunId Run, StepInfo Step, bool AfterCrash)> _started = [];
    private readonly HashSet<(RunId Run, int Step)> _completedBeforeCrash = [];

    private int _replayed;

    public bool AfterCrash { get; set; }

    public int Replayed => Volatile.Read(ref _replayed);

    // Called before a live step body runs; the replayer uses it to stop a body before it runs.
    public Action<StepInfo>? BeforeLiveStep { get; set; }

    public override void OnStepStarting(RunId runId, StepInfo step)
    {
        lock (_gate)
        {
            _started.Add((runId, step, AfterCrash));
        }

        BeforeLiveStep?.Invoke(step);
    }

    public override void OnStepReplayed(RunId runId, StepInfo step, TokenUsage? usage) => Interlocked.Increment(ref _replayed);

    public override void OnStepCompleted(RunId runId, StepInfo step, TimeSpan duration, TokenUsage? usage, bool failed)
    {
        lock (_gate)
        {
            if (!failed && !AfterCrash)
            {
                _completedBeforeCrash.Add((runId, step.Step));
            }
        }
    }

    // Steps whose body ran again after the crash: split by whether their outcome was recorded before it.
    public (List<(RunId Run, StepInfo Step)> RanAgainAfterOutcome, List<(RunId Run, StepInfo Step)> RanAgainInFlight) Repeats()
    {
        lock (_gate)
        {
            var before = _started.Where(s => !s.AfterCrash).Select(s => (s.Run, s.Step.Step)).ToHashSet();
            var again = _started.Where(s => s.AfterCrash && before.Contains((s.Run, s.Step.Step))).Select(s => (s.Run, s.Step)).DistinctBy(s => (s.Run, s.Step.Step)).ToList();
            return ([.. again.Where(s => _completedBeforeCrash.Contains((s.Run, s.Step.Step)))], [.. again.Where(s => !_completedBeforeCrash.Contains((s.Run, s.Step.Step)))]);
        }
    }

    public int Runs(RunId run, int step)
    {
        lock (_gate)
        {
            return _started.Count(s => s.Run == run && s.Step.Step == step);
        }
    }
}
