using Durably.Journal;
using Durably.Storage;

namespace Durably.Inspection;

/// <summary>Checks the integrity of every journal in a store: entries readable, sequences contiguous, every outcome preceded by its intent, the index in agreement.</summary>
public static class JournalVerifier
{
    /// <summary>Reads every run in <paramref name="store"/> and reports what is wrong.</summary>
    /// <remarks>A store that implements <see cref="IJournalStoreIntegrity"/> first checks its own storage; what it finds is in
    /// <see cref="VerifyReport.StoreProblems"/>. Store-level damage that stops reading altogether (a file that is not a database)
    /// surfaces as the store's own exception, such as <see cref="JournalCorruptedException"/>.</remarks>
    /// <exception cref="JournalCorruptedException">The store is too damaged to list its runs.</exception>
    /// <exception cref="JournalStoreLockedException">Another process holds the store locked.</exception>
    public static async Task<VerifyReport> VerifyAsync(IJournalStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        IReadOnlyList<string> storeProblems = store is IJournalStoreIntegrity integrity
            ? await integrity.CheckIntegrityAsync(cancellationToken).ConfigureAwait(false)
            : [];
        var problems = new List<VerifyProblem>();
        long runs = 0, entries = 0;
        string? token = null;
        do
        {
            var page = await store.ListRunsAsync(new RunQuery { PageSize = StoreLimits.MaxPageSize, ContinuationToken = token, NewestFirst = false }, cancellationToken).ConfigureAwait(false);
            foreach (var run in page.Runs)
            {
                runs++;
                IReadOnlyList<JournalEntry> journal;
                try
                {
                    journal = await store.ReadAsync(run.RunId, 0, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is JournalStoreException or JournalFormatException)
                {
                    problems.Add(new VerifyProblem(run.RunId, null, $"the journal cannot be read: {ex.Message}"));
                    continue;
                }
                catch (RunNotFoundException)
                {
                    // Listed, then not found: purged since it was listed (only finished runs are), or the store's
                    // index of run ids disagrees with its list of runs.
                    if (run.Status.IsFinished() && await store.GetRunAsync(run.RunId, cancellationToken).ConfigureAwait(false) is null)
                    {
                        runs--;
                        continue;
                    }

                    problems.Add(new VerifyProblem(run.RunId, null, "the run is listed, but reading it by its id finds no such run: the store's index of run ids is damaged"));
                    continue;
                }

                entries += journal.Count;
                problems.AddRange(Check(run, journal));
            }

            token = page.ContinuationToken;
        }
        while (token is not null);

        return new VerifyReport(runs, entries, problems) { StoreProblems = storeProblems };
    }

    /// <summary>Checks one run's journal against its index record.</summary>
    public static IEnumerable<VerifyProblem> Check(RunRecord run, IReadOnlyList<JournalEntry> journal)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(journal);
        if (journal.Count == 0 || journal[0] is not RunStarted)
        {
            yield return new VerifyProblem(run.RunId, 0, "the journal does not start with run.started");
            yield break;
        }

        if (journal.Count != run.NextSequence)
        {
            yield return new VerifyProblem(run.RunId, null, $"the index says {run.NextSequence} entries, the journal holds {journal.Count}");
        }

        var intents = new HashSet<int>();
        var timers = new HashSet<int>();
        JournalEntry? terminal = null;
        for (var i = 0; i < journal.Count; i++)
        {
            var entry = journal[i];
            if (entry.Sequence != i)
            {
                yield return new VerifyProblem(run.RunId, entry.Sequence, $"entry {i} has sequence {entry.Sequence}; sequences must be contiguous from 0");
            }

            if (terminal is not null && entry is not RunResumed)
            {
                yield return new VerifyProblem(run.RunId, entry.Sequence, $"{entry.GetType().Name} follows the run's end");
            }

            switch (entry)
            {
                case RunStarted when i > 0:
                    yield return new VerifyProblem(run.RunId, entry.Sequence, "run.started appears again");
                    break;
                case StepStarted s:
                    intents.Add(s.Step);
                    break;
                case TimerStarted t:
                    timers.Add(t.Step);
                    break;
                case StepCompleted c when !intents.Contains(c.Step):
                    yield return new VerifyProblem(run.RunId, c.Sequence, $"step {c.Step} has an outcome without an intent");
                    break;
                case StepFailed f when !intents.Contains(f.Step):
                    yield return new VerifyProblem(run.RunId, f.Sequence, $"step {f.Step} has a failure without an intent");
                    break;
                case SignalReceived r when !intents.Contains(r.Step):
                    yield return new VerifyProblem(run.RunId, r.Sequence, $"wait step {r.Step} received a signal without an intent");
                    break;
                case TimerFired tf when !timers.Contains(tf.Step):
                    yield return new VerifyProblem(run.RunId, tf.Sequence, $"timer step {tf.Step} fired without being started");
                    break;
                case RunCompleted or RunFailed or RunCancelled:
                    terminal = entry;
                    break;
            }
        }

        if (terminal is not null && !run.Status.IsFinished())
        {
            yield return new VerifyProblem(run.RunId, terminal.Sequence, $"the journal has ended but the index says {run.Status}");
        }
    }
}

/// <summary>Is what <see cref="JournalVerifier"/> found.</summary>
/// <param name="Runs">Runs checked.</param>
/// <param name="Entries">Entries read.</param>
/// <param name="Problems">What is wrong in the journals; empty when they are sound.</param>
public sealed record VerifyReport(long Runs, long Entries, IReadOnlyList<VerifyProblem> Problems)
{
    /// <summary>Gets what the store's own check found beneath the journals (see <see cref="IJournalStoreIntegrity"/>); empty when sound or not checked.</summary>
    public IReadOnlyList<string> StoreProblems { get; init; } = [];

    /// <summary>Gets a value indicating whether no problem was found, in the journals or in the store.</summary>
    public bool IsSound => Problems.Count == 0 && StoreProblems.Count == 0;
}

/// <summary>Is one problem in a journal.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Sequence">The entry, when one is at fault.</param>
/// <param name="Message">What is wrong.</param>
public sealed record VerifyProblem(RunId RunId, long? Sequence, string Message);
