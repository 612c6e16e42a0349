using Durably.Journal;

namespace Durably.Storage;

/// <summary>Keeps journals in memory, for tests and experiments; nothing survives the process.</summary>
/// <remarks>
/// Entries are serialized to the wire format on append and parsed on read, exactly as the durable
/// stores do, so a value that does not round-trip fails here too. Thread-safe.
/// </remarks>
public sealed partial class InMemoryJournalStore : IJournalStore, IJournalStoreBlobs, IJournalStoreCompaction, IJournalStoreHealth
{
    private readonly Lock _gate = new();
    private readonly Dictionary<RunId, RunState> _runs = [];
    private readonly List<RunState> _order = [];
    private readonly TimeProvider _time;
    private readonly Dictionary<string, (byte[] Data, DateTimeOffset LastUsed)> _blobs = new(StringComparer.Ordinal);
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

    /// <summary>Gets how payloads larger than a threshold are kept apart from the entries, or <see langword="null"/> (the default) to keep them inline.</summary>
    /// <remarks>The in-memory store keeps offloaded payloads in memory, content-addressed as the durable stores do; <see cref="PayloadBlobOptions.Store"/> is not used.</remarks>
    public PayloadBlobOptions? PayloadBlobs { get; init; }

    /// <inheritdoc/>
    public PayloadBlobOptions? BlobOptions => PayloadBlobs;

    /// <inheritdoc/>
    public ValueTask AppendAsync(IReadOnlyList<RunAppend> appends, CancellationToken cancellationToken = default)
    {
        RunAppendValidator.Validate(appends);
        cancellationToken.ThrowIfCancellationRequested();
        PayloadBlobs?.Validate();
        var encoded = new List<byte[]>[appends.Count];
        var offloaded = new List<OffloadedBlob>?[appends.Count];
        for (var i = 0; i < appends.Count; i++)
        {
            List<OffloadedBlob>? blobs = null;
            encoded[i] = [.. appends[i].Entries.Select(e => Storage.PayloadBlobs.Encode(e, MaxEntryBytes, PayloadBlobs, ref blobs))];
            offloaded[i] = blobs;
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
                KeepBlobs(run, offloaded[i], now);
                RecordQueueTokens(run, append, now);
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
        return Storage.PayloadBlobs.ResolveAsync(entries, ReadBlobAsync, runId.Value, BlobLocation, cancellationToken).AsTask();
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
        StoreLimits.CheckSignal(signal, PayloadBlobs?.MaxBlobBytes ?? MaxEntryBytes);
        List<OffloadedBlob>? offloaded = null;
        var stored = Storage.PayloadBlobs.Offload(signal.Payload, PayloadBlobs, ref offloaded);

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
            run.Signals.Add(delivered with { Payload = stored });
            KeepBlobs(run, offloaded, now);
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
        List<DeliveredSignal> signals;
        lock (_gate)
        {
            ThrowIfDisposed();
            var run = Find(runId);
            signals = [.. run.Signals.Where(s => s.SignalId > afterSignalId)];
        }

        return ResolveSignalsAsync(runId, signals, cancellationToken);
    }

    private async Task<IReadOnlyList<DeliveredSignal>> ResolveSignalsAsync(RunId runId, List<DeliveredSignal> signals, CancellationToken cancellationToken)
    {
        for (var i = 0; i < signals.Count; i++)
        {
            if (signals[i].Payload?.Encoding == Storage.PayloadBlobs.ReferenceEncoding)
            {
                signals[i] = signals[i] with { Payload = await Storage.PayloadBlobs.ResolvePayloadAsync(signals[i].Payload, ReadBlobAsync, $"Signal {signals[i].SignalId} to run '{runId}'", BlobLocation, cancellationToken).ConfigureAwait(false) };
            }
        }

        return signals;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default)
    {
        StoreLimits.CheckClaim(request);
        lock (_gate)
        {
            ThrowIfDisposed();
            var now = _time.GetUtcNow();
            List<RunLease> leases = [.. _order
                .Where(r => r.Queue is null && (IsClaimable(r, now) || (request.IncludeOwnLeases && !r.Status.IsFinished() && r.LeaseOwner == request.Owner)))
                .Take(request.MaxRuns)
                .Select(r => Claim(r, request.Owner, request.LeaseDuration, now))];
            if (leases.Count < request.MaxRuns && _queues.Count > 0)
            {
                ClaimQueued(request, now, leases);
            }

            return Task.FromResult<IReadOnlyList<RunLease>>(leases);
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
            var free = !run.Status.IsFinished()
                       && (run.Status != RunStatus.Suspended || (run.WakeAt is { } wake && wake <= now))
                       && (run.LeaseExpiresAt is null || run.LeaseExpiresAt <= now || run.LeaseOwner == owner);
            if (free && run.Queue is not null && !(run.LeaseOwner == owner && run.LeaseExpiresAt > now))
            {
                free = IsAdmittedFirst(run, now);
            }

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

    /// <inheritdoc/>
    public Task<PayloadBlobUsage> GetBlobUsageAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var referenced = _order.SelectMany(r => r.Blobs).ToHashSet(StringComparer.Ordinal);
            return Task.FromResult(new PayloadBlobUsage(_blobs.Count, _blobs.Values.Sum(b => (long)b.Data.Length), referenced.Count));
        }
    }

    /// <inheritdoc/>
    /// <remarks>Appends write their blobs and their entries under one lock here, so no append is ever in flight for a collection.</remarks>
    public Task<BlobCollectionResult> CollectBlobsAsync(BlobCollectionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            ThrowIfDisposed();
            var usedBefore = _time.GetUtcNow() - (request.GracePeriod ?? PayloadBlobs?.CollectionGracePeriod ?? new PayloadBlobOptions().CollectionGracePeriod);
            var referenced = _order.SelectMany(r => r.Blobs).ToHashSet(StringComparer.Ordinal);
            var unused = _blobs.Where(b => b.Value.LastUsed < usedBefore && !referenced.Contains(b.Key)).ToList();
            if (!request.DryRun)
            {
                foreach (var blob in unused)
                {
                    _blobs.Remove(blob.Key);
                }
            }

            return Task.FromResult(new BlobCollectionResult(_blobs.Count + (request.DryRun ? 0 : unused.Count), unused.Count, unused.Sum(b => (long)b.Value.Data.Length), request.DryRun));
        }
    }

    /// <inheritdoc/>
    /// <remarks>The in-memory store has nothing to compact but its blobs: sizes are the bytes of its entries, signals and blobs.</remarks>
    public async Task<CompactionResult> CompactAsync(CompactionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var before = Size();
        var blobs = await CollectBlobsAsync(request.Blobs ?? new BlobCollectionRequest(), cancellationToken).ConfigureAwait(false);
        return new CompactionResult(before, Size(), blobs, []);

        long Size()
        {
            lock (_gate)
            {
                return _order.Sum(r => r.Entries.Sum(e => (long)e.Length) + r.Signals.Sum(s => (long)(s.Payload?.Length ?? 0))) + _blobs.Values.Sum(b => (long)b.Data.Length);
            }
        }
    }

    private string BlobLocation => "the in-memory store's blobs";

    private ValueTask<byte[]?> ReadBlobAsync(string sha256, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_blobs.TryGetValue(sha256, out var blob) ? blob.Data : null);
        }
    }

    // Under the lock, with the entries or signal that refer to the blobs.
    private void KeepBlobs(RunState run, List<OffloadedBlob>? blobs, DateTimeOffset now)
    {
        if (blobs is null)
        {
            return;
        }

        foreach (var blob in blobs)
        {
            _blobs[blob.Sha256] = (_blobs.TryGetValue(blob.Sha256, out var kept) ? kept.Data : blob.Data.ToArray(), now);
            run.Blobs.Add(blob.Sha256);
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
        if (run.Queue is not null)
        {
            run.FirstDequeuedAt ??= now;
        }

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

        public List<string> Blobs { get; } = [];

        public RunStatus Status { get; set; } = RunStatus.Pending;

        public DateTimeOffset? WakeAt { get; set; }

        public string? StatusDetail { get; set; }

        public string? LeaseOwner { get; set; }

        public long LeaseEpoch { get; set; }

        public DateTimeOffset? LeaseExpiresAt { get; set; }

        public string? Queue { get; set; }

        public string? QueueKey { get; set; }

        public int Priority { get; set; }

        public DateTimeOffset? FirstDequeuedAt { get; set; }

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
            Queue = Queue,
            QueueKey = QueueKey,
        };
    }
}
