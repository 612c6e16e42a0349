using System.Text;
using Durably.Journal;

namespace Durably;

// Coalesces the progress one attempt of a journaled step reports into StepProgress entries: at most one write per
// StepContext.ProgressInterval, or sooner once StepContext.ProgressFlushChars characters are pending. The first write
// carries the step's intent when it is not journaled yet (steps other than effects journal their intent with their
// outcome), so watchers see the step start before its progress. Writes are not awaited: every later append of the
// run is ordered after them, and a failed one faults the run's appender, so the step's outcome cannot be acknowledged.
internal sealed class StepProgressWriter(Activation run, StepStarted intent, bool intentJournaled)
{
    private readonly Lock _gate = new();
    private readonly StringBuilder _pending = new();
    private long _lastWrite = run.Time.GetTimestamp();
    private bool _intentJournaled = intentJournaled;
    private bool _wrote;
    private bool _closed;

    public void Report(string text)
    {
        lock (_gate)
        {
            if (_closed || text.Length == 0)
            {
                return;
            }

            _pending.Append(text);
            if (_pending.Length < StepContext.ProgressFlushChars && run.Time.GetElapsedTime(_lastWrite) < StepContext.ProgressInterval)
            {
                return;
            }

            var progress = Take();
            IReadOnlyList<JournalEntry> entries = _intentJournaled ? [progress] : [intent, progress];
            _intentJournaled = true;
            _wrote = true;
            _lastWrite = run.Time.GetTimestamp();
            _ = run.Journal.AppendAsync(entries);
        }
    }

    // Ends the attempt's progress: returns the entries to write before its outcome (the intent when nothing journaled it
    // yet, otherwise what is pending, if anything was written before), and whether the intent is among them or was written.
    public (StepProgress? Tail, bool IntentJournaled) Close()
    {
        lock (_gate)
        {
            _closed = true;

            // A step that wrote no progress keeps its usual entries; one that did writes the rest, so that the entries
            // of the attempt always add up to everything it streamed.
            var tail = _wrote && _pending.Length > 0 ? Take() : null;
            return (tail, _intentJournaled);
        }
    }

    private StepProgress Take()
    {
        var progress = new StepProgress { Step = intent.Step, Text = _pending.ToString() };
        _pending.Clear();
        return progress;
    }
}
