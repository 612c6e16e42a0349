using Durably.Journal;

namespace Durably.Storage;

/// <summary>Checks the shape of appends before a store writes them; shared by every store so they agree.</summary>
public static class RunAppendValidator
{
    /// <summary>Checks a run's first append, as a queued start (<see cref="IRunQueueStore.StartQueuedRunAsync"/>) takes it: sequence 0, a <see cref="RunStarted"/> first, no lease epoch.</summary>
    /// <exception cref="ArgumentException">The append is not a run's first append.</exception>
    public static void ValidateStart(RunAppend start)
    {
        ArgumentNullException.ThrowIfNull(start);
        if (start.ExpectedSequence != 0 || start.LeaseEpoch is not null)
        {
            throw new ArgumentException($"A queued start of run '{start.RunId}' must be the run's first append: expected sequence 0 (not {start.ExpectedSequence}) and no lease epoch.", nameof(start));
        }

        Validate([start]);
    }

    /// <summary>Checks one call's appends: non-empty, contiguous sequences from the expected one, <see cref="RunStarted"/> exactly at 0, each run once.</summary>
    /// <exception cref="ArgumentException">The appends are malformed; nothing may be written.</exception>
    public static void Validate(IReadOnlyList<RunAppend> appends)
    {
        ArgumentNullException.ThrowIfNull(appends);
        if (appends.Count == 0)
        {
            throw new ArgumentException("An append call needs at least one run's entries.", nameof(appends));
        }

        HashSet<RunId>? seen = appends.Count > 1 ? [] : null;
        foreach (var append in appends)
        {
            ArgumentNullException.ThrowIfNull(append, nameof(appends));
            if (append.RunId == default)
            {
                throw new ArgumentException("An append names the default RunId; give it a real run id.", nameof(appends));
            }

            if (seen is not null && !seen.Add(append.RunId))
            {
                throw new ArgumentException($"Run '{append.RunId}' appears twice in one append call; put its entries into one RunAppend.", nameof(appends));
            }

            if (append.Entries.Count == 0 && append.Status is null)
            {
                throw new ArgumentException($"The append to run '{append.RunId}' has no entries and no status change.", nameof(appends));
            }

            for (var i = 0; i < append.Entries.Count; i++)
            {
                var entry = append.Entries[i] ?? throw new ArgumentException($"Entry {i} of the append to run '{append.RunId}' is null.", nameof(appends));
                var expected = append.ExpectedSequence + i;
                if (entry.Sequence != expected)
                {
                    throw new ArgumentException($"Entry {i} of the append to run '{append.RunId}' has sequence {entry.Sequence}; it must be {expected} (sequences are contiguous from the expected sequence).", nameof(appends));
                }

                if ((entry.Sequence == 0) != (entry is RunStarted))
                {
                    throw new ArgumentException(entry.Sequence == 0
                        ? $"The first entry of run '{append.RunId}' must be RunStarted, not {entry.GetType().Name}."
                        : $"RunStarted may only be the first entry (sequence 0) of run '{append.RunId}', not sequence {entry.Sequence}.", nameof(appends));
                }
            }

            if (append.Entries.Count == 0 && append.ExpectedSequence == 0)
            {
                throw new ArgumentException($"Run '{append.RunId}' must be created by appending its RunStarted entry.", nameof(appends));
            }
        }
    }
}
