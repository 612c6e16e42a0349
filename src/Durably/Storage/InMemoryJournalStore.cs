using Durably.Journal;

namespace Durably.Storage;

/// <summary>Keeps journals in memory, for tests and experiments; nothing survives the process.</summary>
/// <remarks>
/// Entries are serialized to the wire format on append and parsed on read, exactly as the durable
/// stores do, so a value that does not round-trip fails here too. Thread-safe.
/// </remarks>
public sealed class InMemoryJournalStore : IJournalStore, IJournalStoreHealth
{
    private readonly Lock _gate = new();
    private readonly Dictionary<RunId, RunState> _runs = [];
    private readonly List<RunState> _order = [];
    private readonly TimeProvider _time;
    private long _nextSignalId;
    private bool _disposed;

    /// <summary>Creates an empty store.</summary>
    /// <param name="timeProvider">The clock for timestamps and leases; the system clock by default.</param>
    public InMemoryJournalStore(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Gets the largest serialized entry accepted, in bytes. Default <see cref="StoreLimits.DefaultMaxEntryBytes"/>.</summary>
    public int MaxEntryBytes { get; init; } = StoreLimits.DefaultMaxEntryBytes;

    /// <inheritdoc/>
    public ValueTask AppendAsync(IReadOnlyList<RunAppend> appends, CancellationToken cancellationToken = default)
    {
        RunAppendValidator.Validate(appends);
        cancellationToken.ThrowIfCancellationRequested();
        var encoded = new List<byte[]>[appends.Count];
        for (var i = 0; i < appends.Count; i++)
        {
            encoded[i] = [.. appends[i].Entries.Select(e => StoreLimits.Encode(e, MaxEntryBytes))];
        }

        lock (_gate)
        {
            ThrowIfDisposed();
            var now = _time.GetUtcNow();

            // Check every run first so that a failing call writes nothing.
            for (var i = 0; i < appends.Count; i++)
            {
                var append = appends[i];
                _runs.TryGetValue(append.RunId, out var run);
                var actual = run?.Entries.Count ?? 0;
                if (run is null && append.ExpectedSequence > 0)
                {
                    throw new RunNotFoundException(append.RunId);
                }

                if (actual != append.ExpectedSequence)
                {
                    throw new JournalConcurrencyException(append.RunId, append.ExpectedSequence, actual);
                }

                if (run is not null && append.LeaseEpoch is { } epoch && epoch != run.LeaseEpoch)
                {
                    throw new LeaseLostException(append.RunId, epoch, run.LeaseEpoch);
                }
            }

            for (var i = 0; i < appends.Count; i++)
            {
                var append = appends[i];
                if (!_runs.TryGetValue(append.RunId, out var run))
                {
                    var started = (RunStarted)append.Entries[0];
                    run = new RunState(append.RunId, started.Workflow, now);
                    _runs.Add(append.RunId, run);
                    _order.Add(run);
                }

                run.Entries.AddRange(encoded[i]);
                run.UpdatedAt = now;
                if (append.Status is { } status)
                {
                    run.Status = status;
                    run.WakeAt = append.WakeAt;
                    run.StatusDetail = append.StatusDetail;
                    if (status.IsFinished())
                    {
                        run.LeaseOwner = null;
                        run.LeaseExpiresAt = null;
                    }
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<JournalEntry>> ReadAsync(RunId runId, long fromSequence = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromSequence);
        byte[][] raw;
        lock (_gate)
        {
            ThrowIfDisposed();
            var run = Find(runId);
            raw = [.. run.Entries.Skip((int)Math.Min(fromSequence, run.Entries.Count))];
        }

        IReadOnlyList<JournalEntry> entries = [.. raw.Select(b => JournalSerializer.Deserialize(b))];
        return Task.FromResult(entries);
    }

    /// <inheritdoc/>
    /// <remarks>An in-memory store is healthy until it is disposed.</remarks>
    public Task CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<RunRecord?> GetRunAsync(RunId runId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult(_runs.TryGetValue(runId, out var run) ? run.ToRecord() : null);
        }
    }

    /// <inheritdoc/>
    public Task<RunPage> ListRunsAsync(RunQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var pageSize = StoreLimits.CheckPageSize(query.PageSize);
        var after = StoreLimits.ParseToken(query.ContinuationToken);
        lock (_gate)
        {
            ThrowIfDisposed();
            IEnumerable<(RunState Run, long Position)> ordered = _order.Select((r, i) => (r, (long)i + 1));
            if (query.NewestFirst)
            {
                ordered = ordered.Reverse();
            }

            var page = ordered
                .Where(x => after is null || (query.NewestFirst ? x.Position < after : x.Position > after))
                .Where(x => query.Statuses is null || query.Statuses.Contains(x.Run.Status))
                .Where(x => query.Workflow is null || x.Run.Workflow == query.Workflow)
                .Take(pageSize + 1)
                .ToList();
            var more = page.Count > pageSize;
            if (more)
            {
                page.RemoveAt(page.Count - 1);
            }

            return Task.FromResult(new RunPage(
                [.. page.Select(x => x.Run.ToRecord())],
                more ? StoreLimits.FormatToken(page[^1].Position) : null));
        }
    }

    /// <inheritdoc/>
    public Task<DeliveredSignal> DeliverSignalAsync(RunId runId, SignalMessage signal, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckSignal(signal, MaxEntryBytes);

        lock (_gate)
        {
            ThrowIfDisposed();
            var run = Find(runId);
            if (run.Status.IsFinished())
            {
                throw new RunFinishedException(runId, run.Status);
            }

            var now = _time.GetUtcNow();
            var delivered = new DeliveredSignal(++_nextSignalId, signal.Name, signal.Payload, signal.Sender, now);
            run.Signals.Add(delivered);
            if (run.Status == RunStatus.Suspended && (run.WakeAt is null || run.WakeAt > now))
            {
                run.WakeAt = now;
            }

            run.UpdatedAt = now;
            return Task.FromResult(delivered);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<DeliveredSignal>> ReadSignalsAsync(RunId runId, long afterSignalId = 0, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var run = Find(runId);
            IReadOnlyList<DeliveredSignal> signals = [.. run.Signals.Where(s => s.SignalId > afterSignalId)];
            return Task.FromResult(signals);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckClaim(request);
        lock (_gate)
        {
            ThrowIfDisposed();
            var now = _time.GetUtcNow();
            IReadOnlyList<RunLease> leases = [.. _order
                .Where(r => IsClaimable(r, now) || (request.IncludeOwnLeases && !r.Status.IsFinished() && r.LeaseOwner == request.Owner))
                .Take(request.MaxRuns)
                .Select(r => Claim(r, request.Owner, request.LeaseDuration, now))];
            return Task.FromResult(leases);
        }
    }

    /// <inheritdoc/>
    public Task<RunLease?> TryClaimRunAsync(RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        lock (_gate)
        {
            ThrowIfDisposed();
            var run = Find(runId);
            var now = _time.GetUtcNow();
            var free = !run.Status.IsFinished() && (run.LeaseExpiresAt is null || run.LeaseExpiresAt <= now || run.LeaseOwner == owner);
            return Task.FromResult(free ? Claim(run, owner, leaseDuration, now) : null);
        }
    }

    /// <inheritdoc/>
    public Task<RunLease> RenewLeaseAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lock (_gate)
        {
            ThrowIfDisposed();
            var run = Find(lease.RunId);
            if (run.LeaseEpoch != lease.Epoch || run.LeaseOwner != lease.Owner)
            {
                throw new LeaseLostException(lease.RunId, lease.Epoch, run.LeaseEpoch);
            }

            run.LeaseExpiresAt = _time.GetUtcNow() + leaseDuration;
            return Task.FromResult(lease with { ExpiresAt = run.LeaseExpiresAt.Value });
        }
    }

    /// <inheritdoc/>
    public Task ReleaseLeaseAsync(RunLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_runs.TryGetValue(lease.RunId, out var run) && run.LeaseEpoch == lease.Epoch && run.LeaseOwner == lease.Owner)
            {
                run.LeaseOwner = null;
                run.LeaseExpiresAt = null;
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<PurgeResult> PurgeRunsAsync(PurgeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        lock (_gate)
        {
            ThrowIfDisposed();
            var selected = _order
                .Where(r => r.Status.IsFinished() && request.Statuses.Contains(r.Status) && r.UpdatedAt < request.FinishedBefore)
                .Take(request.MaxRuns)
                .ToList();
            var entries = selected.Sum(r => (long)r.Entries.Count);
            if (!request.DryRun)
            {
                foreach (var run in selected)
                {
                    _runs.Remove(run.RunId);
                    _order.Remove(run);
                }
            }

            return Task.FromResult(new PurgeResult([.. selected.Select(r => r.RunId)], entries, request.DryRun));
        }
    }

    /// <summary>Marks the store disposed; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        return ValueTask.CompletedTask;
    }

    private static bool IsClaimable(RunState run, DateTimeOffset now)
        => !run.Status.IsFinished()
           && (run.LeaseExpiresAt is null || run.LeaseExpiresAt <= now)
           && (run.Status != RunStatus.Suspended || (run.WakeAt is { } wake && wake <= now));

    private static RunLease Claim(RunState run, string owner, TimeSpan duration, DateTimeOffset now)
    {
        run.LeaseEpoch++;
        run.LeaseOwner = owner;
        run.LeaseExpiresAt = now + duration;
        return new RunLease(run.RunId, owner, run.LeaseEpoch, run.LeaseExpiresAt.Value);
    }

    private RunState Find(RunId runId) => _runs.TryGetValue(runId, out var run) ? run : throw new RunNotFoundException(runId);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private sealed class RunState(RunId runId, string workflow, DateTimeOffset createdAt)
    {
        public RunId RunId { get; } = runId;

        public string Workflow { get; } = workflow;

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public DateTimeOffset UpdatedAt { get; set; } = createdAt;

        public RunStatus Status { get; set; } = RunStatus.Pending;

        public DateTimeOffset? WakeAt { get; set; }

        public string? StatusDetail { get; set; }

        public string? LeaseOwner { get; set; }

        public long LeaseEpoch { get; set; }

        public DateTimeOffset? LeaseExpiresAt { get; set; }

        public List<byte[]> Entries { get; } = [];

        public List<DeliveredSignal> Signals { get; } = [];

        public RunRecord ToRecord() => new()
        {
            RunId = RunId,
            Workflow = Workflow,
            Status = Status,
            CreatedAt = CreatedAt,
            UpdatedAt = UpdatedAt,
            NextSequence = Entries.Count,
            WakeAt = WakeAt,
            StatusDetail = StatusDetail,
            LeaseOwner = LeaseOwner,
            LeaseEpoch = LeaseEpoch,
            LeaseExpiresAt = LeaseExpiresAt,
        };
    }
}
