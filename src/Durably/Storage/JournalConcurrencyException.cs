namespace Durably.Storage;

/// <summary>Thrown when an append expects a run's journal at a sequence it is no longer (or not yet) at.</summary>
/// <remarks>Another writer appended first, or a run with the id exists already. Nothing of the failed append was written.</remarks>
public sealed class JournalConcurrencyException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public JournalConcurrencyException(RunId runId, long expectedSequence, long actualSequence)
        : base(expectedSequence == 0
            ? $"Run '{runId}' exists already; a run id can be started once. Read the existing run instead."
            : $"Run '{runId}' is at sequence {actualSequence}, not {expectedSequence} as the append expected: another writer appended to it first. Nothing was written.")
    {
        RunId = runId;
        ExpectedSequence = expectedSequence;
        ActualSequence = actualSequence;
    }

    /// <summary>Gets the run.</summary>
    public RunId RunId { get; }

    /// <summary>Gets the sequence the append expected.</summary>
    public long ExpectedSequence { get; }

    /// <summary>Gets the sequence the journal was at.</summary>
    public long ActualSequence { get; }
}
