using Durably.Journal;
using Durably.Storage;

namespace Durably;

// The completed steps of the run a fork was made from, beyond the fork point: cache hits for model steps when the
// fork reuses model outputs, and the recorded results a dry run returns for effects.
// A model step is a hit only for the same request: the same argument hash (for DurableChatClient, the messages) and a
// result its CheckRecorded accepts (the chat options), wherever the source made that request. Each recorded answer is
// handed out once, in the source's order, so a request the source made twice gets its two answers in turn. A model step
// without an argument hash says nothing about its request and is never a hit.
internal sealed class ForkSource
{
    private readonly ForkInfo _fork;
    private readonly RunHistory? _source;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<StepHistory>> _answers = new(StringComparer.Ordinal);

    private ForkSource(ForkInfo fork, RunHistory? source)
    {
        _fork = fork;
        _source = source;
        if (fork.ReuseModelOutputs && source is not null)
        {
            foreach (var step in source.Steps.Where(s => s.Step > fork.AtStep && s is { Kind: StepKind.Model, ArgumentHash: not null, Completion: not null }))
            {
                (_answers.TryGetValue(step.ArgumentHash!, out var list) ? list : _answers[step.ArgumentHash!] = []).Add(step);
            }
        }
    }

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

    public string SourceRun => _fork.Source.Value;

    // Returns the source's recorded outcome for a live step of the fork, when the fork's options say to use it and the
    // recorded step matches: a model step by its request (argument hash and accept), an effect by step number, name and
    // argument hash. A dry-run effect without a match throws: it must not run.
    public StepCompleted? OutcomeFor(int step, StepKind kind, string name, string? argumentHash, Func<StepCompleted, bool> accept)
    {
        if (kind == StepKind.Model)
        {
            return _fork.ReuseModelOutputs && argumentHash is not null ? TakeAnswer(argumentHash, accept) : null;
        }

        if (kind != StepKind.Effect || !_fork.DryRun)
        {
            return null;
        }

        if (step > _fork.AtStep
            && _source?.Find(step) is { Completion: { } outcome } recorded
            && recorded.Kind == kind
            && recorded.Name == name
            && recorded.ArgumentHash == argumentHash
            && accept(outcome))
        {
            return outcome;
        }

        throw new DryRunViolationException(_fork.Source, step, name);
    }

    private StepCompleted? TakeAnswer(string argumentHash, Func<StepCompleted, bool> accept)
    {
        lock (_gate)
        {
            if (!_answers.TryGetValue(argumentHash, out var candidates))
            {
                return null;
            }

            var index = candidates.FindIndex(c => accept(c.Completion!));
            if (index < 0)
            {
                return null;
            }

            var answer = candidates[index].Completion!;
            candidates.RemoveAt(index);
            return answer;
        }
    }
}
