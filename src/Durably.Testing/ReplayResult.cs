namespace Durably.Testing;

/// <summary>Says how a journal replay ended.</summary>
public enum ReplayVerdict
{
    /// <summary>The code replayed the finished journal to the same end: same steps, same outcome.</summary>
    Matched,

    /// <summary>The code replayed every journaled step of an unfinished run and would now continue live, wait, or finish.</summary>
    ReachedEndOfJournal,

    /// <summary>The code parts from the journal: another step, another outcome, or more work after the journal's end.</summary>
    Diverged,
}

/// <summary>Reports the replay of one run's journal against the current code.</summary>
public sealed record ReplayResult
{
    /// <summary>Gets the run.</summary>
    public required RunId RunId { get; init; }

    /// <summary>Gets the workflow the journal belongs to.</summary>
    public required string Workflow { get; init; }

    /// <summary>Gets how the replay ended.</summary>
    public required ReplayVerdict Verdict { get; init; }

    /// <summary>Gets what happened, in words: for a divergence, where code and journal part and how.</summary>
    public required string Message { get; init; }

    /// <summary>Gets how many journaled steps the code replayed.</summary>
    public int StepsReplayed { get; init; }

    /// <summary>Gets the non-determinism the runtime detected, if that is how the replay diverged.</summary>
    public NonDeterminismInfo? NonDeterminism { get; init; }

    /// <summary>Gets a value indicating whether the replay did not diverge.</summary>
    public bool Passed => Verdict != ReplayVerdict.Diverged;

    /// <summary>Returns the verdict and message on one line.</summary>
    public override string ToString() => $"run '{RunId}' ({Workflow}): {Verdict}: {Message}";
}
