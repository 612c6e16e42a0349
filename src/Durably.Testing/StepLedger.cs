using Durably.Journal;
using Durably.Storage;

namespace Durably.Testing;

// Counts step bodies as a scenario's runtimes execute them, before and after the crash.
internal sealed class StepLedger : RunObserver
{
    private readonly Lock _gate = new();
    private readonly List<(StepInfo Step, bool AfterCrash)> _started = [];
    private readonly HashSet<int> _completedBeforeCrash = [];

    private int _replayed;

    public bool AfterCrash { get; set; }

    public int Replayed => Volatile.Read(ref _replayed);

    // Called before a live step body runs; the replayer uses it to stop a body before it runs.
    public Action<StepInfo>? BeforeLiveStep { get; set; }

    public override void OnStepStarting(RunId runId, StepInfo step)
    {
        lock (_gate)
        {
            _started.Add((step, AfterCrash));
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
                _completedBeforeCrash.Add(step.Step);
            }
        }
    }

    // Steps whose body ran again after the crash: split by whether their outcome was recorded before it.
    public (List<StepInfo> RanAgainAfterOutcome, List<StepInfo> RanAgainInFlight) Repeats()
    {
        lock (_gate)
        {
            var before = _started.Where(s => !s.AfterCrash).Select(s => s.Step.Step).ToHashSet();
            var again = _started.Where(s => s.AfterCrash && before.Contains(s.Step.Step)).Select(s => s.Step).DistinctBy(s => s.Step).ToList();
            return ([.. again.Where(s => _completedBeforeCrash.Contains(s.Step))], [.. again.Where(s => !_completedBeforeCrash.Contains(s.Step))]);
        }
    }

    public int Runs(int step)
    {
        lock (_gate)
        {
            return _started.Count(s => s.Step.Step == step);
        }
    }
}
