using Durably.Journal;

namespace Durably.Storage;

// Queues with limits (IRunQueueStore): the store's lock serializes every claim, so the limits hold by construction.
public sealed partial class InMemoryJournalStore : IRunQueueStore
{
    private readonly Dictionary<string, QueueDefinition> _queues = new(StringComparer.Ordinal);

    // Model tokens used by runs of token-limited queues, oldest first; pruned past the window when read.
    private readonly List<(string Queue, QueueTokenUse Use, DateTimeOffset At)> _queueTokens = [];

    /// <inheritdoc/>
    public Task ConfigureQueueAsync(QueueDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        lock (_gate)
        {
            ThrowIfDisposed();
            _queues[definition.Name] = definition;
            if (definition.TokensPerMinute is null)
            {
                _queueTokens.RemoveAll(t => t.Queue == definition.Name);
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<QueueState>> ListQueuesAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var now = _time.GetUtcNow();
            IReadOnlyList<QueueState> states = [.. _queues.Values.OrderBy(q => q.Name, StringComparer.Ordinal).Select(q =>
            {
                var runs = _order.Where(r => r.Queue == q.Name && !r.Status.IsFinished()).ToList();
                var waiting = Candidates(q.Name, now).ToList();
                var admissible = QueueAdmission.Admit(q, Running(q.Name, now), DequeuedInWindow(q.Name, now), TokensInWindow(q.Name, now), waiting, int.MaxValue).Count;
                return new QueueState(q)
                {
                    Running = runs.Count(r => r.LeaseExpiresAt > now),
                    Queued = waiting.Count,
                    Limited = waiting.Count - admissible,
                    Suspended = runs.Count(r => r.Status == RunStatus.Suspended && !(r.LeaseExpiresAt > now) && !(r.WakeAt <= now)),
                    DequeuedInWindow = DequeuedInWindow(q.Name, now).Count(),
                    TokensInWindow = TokensInWindow(q.Name, now).Sum(t => t.Tokens),
                };
            })];
            return Task.FromResult(states);
        }
    }

    /// <inheritdoc/>
    public Task<QueuedStart> StartQueuedRunAsync(RunAppend start, QueuePlacement placement, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(placement);
        placement.Validate();
        RunAppendValidator.ValidateStart(start);
        if (placement.DebounceSignal is { } debounceSignal)
        {
            StoreLimits.CheckSignal(debounceSignal, PayloadBlobs?.MaxBlobBytes ?? MaxEntryBytes);
        }

        lock (_gate)
        {
            ThrowIfDisposed();
            if (!_queues.ContainsKey(placement.Queue))
            {
                throw new QueueNotFoundException(placement.Queue);
            }

            if (_runs.ContainsKey(start.RunId))
            {
                return Task.FromResult(new QueuedStart(start.RunId, QueuedStartOutcome.Existing));
            }

            var now = _time.GetUtcNow();
            if (placement.DebounceWindow is { } window
                && _order.LastOrDefault(r => r.Queue == placement.Queue && r.QueueKey == placement.Key && r.CreatedAt > now - window) is { } recent)
            {
                // Under the same lock as the decision: the signal and the debounce are one step.
                var delivered = placement.DebounceSignal is { } signal && !recent.Status.IsFinished()
                    ? DeliverSignalAsync(recent.RunId, signal, cancellationToken).GetAwaiter().GetResult()
                    : null;
                return Task.FromResult(new QueuedStart(recent.RunId, QueuedStartOutcome.Debounced) { Signal = delivered });
            }

            // The lock is re-entrant and this store's append completes synchronously: the run and its placement appear together.
            AppendAsync([start], cancellationToken).GetAwaiter().GetResult();
            var run = _runs[start.RunId];
            run.Queue = placement.Queue;
            run.QueueKey = placement.Key;
            run.Priority = placement.Priority;
            return Task.FromResult(new QueuedStart(start.RunId, QueuedStartOutcome.Started));
        }
    }

    // Leases the queued runs the limits admit, queue by queue, into the claim's remaining room. Under the store's lock.
    private void ClaimQueued(ClaimRequest request, DateTimeOffset now, List<RunLease> leases)
    {
        if (request.IncludeOwnLeases)
        {
            foreach (var own in _order.Where(r => r.Queue is not null && !r.Status.IsFinished() && r.LeaseOwner == request.Owner && r.LeaseExpiresAt > now).ToList())
            {
                if (leases.Count >= request.MaxRuns)
                {
                    return;
                }

                leases.Add(Claim(own, request.Owner, request.LeaseDuration, now));
            }
        }

        foreach (var queue in _queues.Values.OrderBy(q => q.Name, StringComparer.Ordinal))
        {
            var room = request.MaxRuns - leases.Count;
            if (room <= 0)
            {
                return;
            }

            foreach (var admitted in QueueAdmission.Admit(queue, Running(queue.Name, now), DequeuedInWindow(queue.Name, now), TokensInWindow(queue.Name, now), Candidates(queue.Name, now), room))
            {
                leases.Add(Claim(admitted.Id, request.Owner, request.LeaseDuration, now));
            }
        }
    }

    // Whether the limits admit this queued run now, and no waiting run of its queue ranks before it.
    private bool IsAdmittedFirst(RunState run, DateTimeOffset now)
    {
        if (!IsClaimable(run, now) || !_queues.TryGetValue(run.Queue!, out var queue))
        {
            return false;
        }

        var first = QueueAdmission.Admit(queue, Running(queue.Name, now), DequeuedInWindow(queue.Name, now), TokensInWindow(queue.Name, now), Candidates(queue.Name, now), 1);
        return first.Count == 1 && first[0].Id == run;
    }

    private IEnumerable<QueueCandidate<RunState>> Candidates(string queue, DateTimeOffset now)
        => _order.Where(r => r.Queue == queue && IsClaimable(r, now))
            .OrderByDescending(r => r.Priority)
            .ThenBy(r => r.FirstDequeuedAt is null)
            .Select(r => new QueueCandidate<RunState>(r, r.QueueKey, r.FirstDequeuedAt is null));

    private IEnumerable<string?> Running(string queue, DateTimeOffset now)
        => _order.Where(r => r.Queue == queue && !r.Status.IsFinished() && r.LeaseExpiresAt > now).Select(r => r.QueueKey);

    // Records the model tokens an append of a run on a token-limited queue used. Under the store's lock, with the append.
    private void RecordQueueTokens(RunState run, RunAppend append, DateTimeOffset now)
    {
        if (run.Queue is null || !_queues.TryGetValue(run.Queue, out var queue) || queue.TokensPerMinute is null)
        {
            return;
        }

        foreach (var entry in append.Entries)
        {
            if (QueueAdmission.TokensUsed(entry) is > 0 and var tokens)
            {
                _queueTokens.Add((run.Queue, new QueueTokenUse(run.QueueKey, tokens), now));
            }
        }
    }

    private List<QueueTokenUse> TokensInWindow(string queue, DateTimeOffset now)
    {
        var since = now - QueueDefinition.RateWindow;
        _queueTokens.RemoveAll(t => t.At <= since);
        return [.. _queueTokens.Where(t => t.Queue == queue).Select(t => t.Use)];
    }

    private IEnumerable<string?> DequeuedInWindow(string queue, DateTimeOffset now)
        => _order.Where(r => r.Queue == queue && r.FirstDequeuedAt > now - QueueDefinition.RateWindow).Select(r => r.QueueKey);
}
