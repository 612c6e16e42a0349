using Durably.Journal;

namespace Durably.Storage;

/// <summary>Describes entries to append to one run's journal, and the status change they bring.</summary>
/// <remarks>
/// The first append of a run starts at sequence 0 with a <see cref="RunStarted"/> entry and creates the
/// run; appending it for an id that exists fails with <see cref="JournalConcurrencyException"/>, which is
/// how a run id deduplicates starts.
/// </remarks>
public sealed record RunAppend
{
    /// <summary>Creates an append of <paramref name="entries"/> to <paramref name="runId"/>, expected at <paramref name="expectedSequence"/>.</summary>
    public RunAppend(RunId runId, long expectedSequence, IReadOnlyList<JournalEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedSequence);
        RunId = runId;
        ExpectedSequence = expectedSequence;
        Entries = entries;
    }

    /// <summary>Gets the run to append to.</summary>
    public RunId RunId { get; }

    /// <summary>Gets the sequence the run's journal must be at: the first entry's sequence. Another writer that got there first causes a <see cref="JournalConcurrencyException"/>.</summary>
    public long ExpectedSequence { get; }

    /// <summary>Gets the entries, in order, with sequences <see cref="ExpectedSequence"/>, +1, ...</summary>
    public IReadOnlyList<JournalEntry> Entries { get; }

    /// <summary>Gets the status the run has after this append, or <see langword="null"/> to keep it.</summary>
    public RunStatus? Status { get; init; }

    /// <summary>Gets when a suspended run becomes runnable; applied together with <see cref="Status"/>.</summary>
    public DateTimeOffset? WakeAt { get; init; }

    /// <summary>Gets what the run waits for, or why it stopped, for operators; applied together with <see cref="Status"/>.</summary>
    public string? StatusDetail { get; init; }

    /// <summary>Gets the lease epoch the writer holds, or <see langword="null"/> to skip the fencing check.</summary>
    /// <remarks>When set, the store appends only if the run's current lease epoch is this one, inside the same transaction; otherwise it throws <see cref="LeaseLostException"/>.</remarks>
    public long? LeaseEpoch { get; init; }
}
