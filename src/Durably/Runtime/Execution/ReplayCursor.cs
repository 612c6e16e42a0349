using Durably.Journal;

namespace Durably;

// Where the re-executing workflow code is in the journal: hands out step numbers in call order, checks each call against
// what the journal holds there, and keeps the first divergence. Thread-safe: steps may be issued in parallel.
internal sealed class ReplayCursor(DurableRuntime runtime, RunId runId, RunHistory history, CancellationToken runCancellation)
{
    private int _position;
    private int _replayed;
    private NonDeterminismException? _divergence;

    public RunHistory History => history;

    // True while the code has not yet passed the last step the journal holds.
    public bool IsReplaying => Volatile.Read(ref _position) < history.LastStep;

    public int Position => Volatile.Read(ref _position);

    // How many steps returned their journaled outcome in this activation.
    public int ReplayedSteps => Volatile.Read(ref _replayed);

    public NonDeterminismException? Divergence => Volatile.Read(ref _divergence);

    public int Next() => Interlocked.Increment(ref _position);

    // Skips the step numbers a replayed phase used inside, as it did when it ran.
    public void Skip(int steps) => Interlocked.Add(ref _position, steps);

    // Returns what the journal holds for the step the code asks for, null when it holds nothing (the step runs live).
    public StepHistory? Match(int step, StepKind kind, string name, string? argumentHash = null)
    {
        if (history.Find(step) is not { Kind: { } journaledKind } record)
        {
            return null;
        }

        if (journaledKind == StepKind.Compensation && kind != StepKind.Compensation && runCancellation.IsCancellationRequested)
        {
            // The run was cancelled at this point before: the journal continues with its compensations.
            throw new OperationCanceledException(runCancellation);
        }

        if (journaledKind != kind || record.Name != name)
        {
            throw Diverged(step, $"{Describe(journaledKind)} '{record.Name}'", $"{Describe(kind)} '{name}'");
        }

        if (argumentHash is not null && record.ArgumentHash is not null && argumentHash != record.ArgumentHash)
        {
            throw Diverged(step, $"{Describe(kind)} '{name}' with argument hash {record.ArgumentHash}", $"the same step with argument hash {argumentHash}");
        }

        return record;
    }

    // A journaled step whose result its caller's check refused (StepOptions.CheckRecorded).
    public NonDeterminismException Diverged(int step, StepKind kind, string name, StepMismatch mismatch)
        => Diverged(step, $"{Describe(kind)} '{name}' {mismatch.Journaled}", $"the same step {mismatch.Requested}");

    // Called when the workflow returned: a journaled step it did not reach is a divergence too.
    public void CheckNothingLeft()
    {
        var position = Position;
        if (history.LastStep > position && history.Steps.FirstOrDefault(s => s.Step > position && s.Kind is not null) is { } extra)
        {
            _ = Diverged(extra.Step, $"{Describe(extra.Kind!.Value)} '{extra.Name}'", "no further step (the workflow returned)");
        }
    }

    // Reports a step answered from the journal: counted for RunResumed, traced and observed, its tokens not counted again.
    public void Replayed(StepInfo step, TokenUsage? usage) => Replayed<object?>(step, usage, null, null);

    // The same, with the step's span described by its integration (the result is boxed only when a span is described).
    public void Replayed<T>(StepInfo step, TokenUsage? usage, StepTelemetry? telemetry, T result)
    {
        Interlocked.Increment(ref _replayed);
        DurablyTelemetry.StepReplayed(runId, step, usage, telemetry, result);
        runtime.Observe(static (o, s) => o.OnStepReplayed(s.runId, s.step, s.usage), (runId, step, usage));
    }

    private NonDeterminismException Diverged(int step, string journaled, string requested)
    {
        var ex = new NonDeterminismException(runId, step, journaled, requested);
        Interlocked.CompareExchange(ref _divergence, ex, null);
        return ex;
    }

    private static string Describe(StepKind kind) => kind.ToString().ToLowerInvariant() + " step";
}
