using Durably.Journal;
using Durably.Storage;

namespace Durably;

// The completed steps of the run a fork was made from, beyond the fork point: cache hits for model steps when the
// fork reuses model outputs, and the recorded results a dry run returns for effects.
internal sealed class ForkSource(ForkInfo fork, RunHistory? source)
{
    // Reads the source run when the fork's options use it; null when they do not.
    public static async Task<ForkSource?> LoadAsync(IJournalStore store, ForkInfo? fork, CancellationToken cancellationToken)
    {
        if (fork is null || !(fork.ReuseModelOutputs || fork.DryRun))
        {
            return null;
        }

        try
        {
            var entries = await store.ReadAsync(fork.Source, 0, cancellationToken).ConfigureAwait(false);
            return new ForkSource(fork, RunHistory.FromJournal(entries));
        }
        catch (RunNotFoundException)
        {
            // The source was purged: nothing to reuse; dry-run effects then fail loudly.
            return new ForkSource(fork, null);
        }
    }

    public string SourceRun => fork.Source.Value;

    // Returns the source's recorded outcome for a live step of the fork, when the fork's options say to use it.
    public StepCompleted? OutcomeFor(int step, StepKind kind, string name)
    {
        if (kind == StepKind.Model ? !fork.ReuseModelOutputs : kind != StepKind.Effect || !fork.DryRun)
        {
            return null;
        }

        if (step > fork.AtStep && source?.Find(step) is { Completion: { } outcome } recorded && recorded.Kind == kind && recorded.Name == name)
        {
            return outcome;
        }

        return kind == StepKind.Effect ? throw new DryRunViolationException(fork.Source, step, name) : null;
    }
}
