using Durably.Journal;
using Durably.Storage;

namespace Durably.Testing;

// The in-memory store of one crash-test scenario. It records every acknowledged append, and can refuse writes as a
// dead process would: from a chosen append on, every write fails and leases are neither renewed nor released.
// It is the worker's wake-up source too, so that the scenario can wake the worker loop through public API.
internal sealed class ScenarioStore(TimeProvider clock) : IJournalStore, IRunWakeupSource
{
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _changed = new(0);
    private readonly SemaphoreSlim _wakeups = new(0);
    private readonly List<RunAppend> _appends = [];
    private Func<RunAppend, bool>? _refuse;
    private bool _crashed;

    public InMemoryJournalStore Inner { get; } = new(clock);

    // Acknowledged appends that carried entries, in order.
    public IReadOnlyList<RunAppend> Appends
    {
        get
        {
            lock (_gate)
            {
                return [.. _appends];
            }
        }
    }

    public bool Crashed
    {
        get
        {
            lock (_gate)
            {
                return _crashed;
            }
        }
    }

    // The first entry a refused append tried to write.
    public JournalEntry? FirstRefused { get; private set; }

    // Sets when appends start failing: the first append matching the condition, and everything after it.
    public void CrashWhen(Func<RunAppend, bool> refuse)
    {
        lock (_gate)
        {
            _refuse = refuse;
        }
    }

    public void Revive()
    {
        lock (_gate)
        {
            _refuse = null;
            _crashed = false;
        }
    }

    // Waits until the store changes or a short while passes (the caller polls its condition after).
    public Task WaitForChangeAsync(CancellationToken cancellationToken) => _changed.WaitAsync(TimeSpan.FromMilliseconds(25), cancellationToken);

    public async ValueTask AppendAsync(IReadOnlyList<RunAppend> appends, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_crashed || (_refuse is { } refuse && appends.Any(refuse)))
            {
                _crashed = true;
                FirstRefused ??= appends.SelectMany(a => a.Entries).FirstOrDefault(e => e is not RunResumed);
                Poke();
                throw new JournalStoreException("Simulated crash: the process died before this write.");
            }
        }

        await Inner.AppendAsync(appends, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _appends.AddRange(appends.Where(a => a.Entries.Count > 0));
        }

        Poke();
    }

    public async Task<DeliveredSignal> DeliverSignalAsync(RunId runId, SignalMessage signal, CancellationToken cancellationToken = default)
    {
        var delivered = await Inner.DeliverSignalAsync(runId, signal, cancellationToken).ConfigureAwait(false);
        Poke();
        return delivered;
    }

    public Task<RunLease> RenewLeaseAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
        => Crashed ? Task.FromException<RunLease>(new JournalStoreException("Simulated crash.")) : Inner.RenewLeaseAsync(lease, leaseDuration, cancellationToken);

    public async Task ReleaseLeaseAsync(RunLease lease, CancellationToken cancellationToken = default)
    {
        if (Crashed)
        {
            // A dead process releases nothing; its successor takes the lease back.
            throw new JournalStoreException("Simulated crash.");
        }

        await Inner.ReleaseLeaseAsync(lease, cancellationToken).ConfigureAwait(false);
        Poke();
    }

    public Task<PurgeResult> PurgeRunsAsync(PurgeRequest request, CancellationToken cancellationToken = default)
        => Crashed ? Task.FromException<PurgeResult>(new JournalStoreException("Simulated crash.")) : Inner.PurgeRunsAsync(request, cancellationToken);

    public Task<IReadOnlyList<JournalEntry>> ReadAsync(RunId runId, long fromSequence = 0, CancellationToken cancellationToken = default) => Inner.ReadAsync(runId, fromSequence, cancellationToken);

    public Task<RunRecord?> GetRunAsync(RunId runId, CancellationToken cancellationToken = default) => Inner.GetRunAsync(runId, cancellationToken);

    public Task<RunPage> ListRunsAsync(RunQuery query, CancellationToken cancellationToken = default) => Inner.ListRunsAsync(query, cancellationToken);

    public Task<IReadOnlyList<DeliveredSignal>> ReadSignalsAsync(RunId runId, long afterSignalId = 0, CancellationToken cancellationToken = default) => Inner.ReadSignalsAsync(runId, afterSignalId, cancellationToken);

    public Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default) => Inner.ClaimRunsAsync(request, cancellationToken);

    public Task<RunLease?> TryClaimRunAsync(RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => Inner.TryClaimRunAsync(runId, owner, leaseDuration, cancellationToken);

    // The worker loop waits on the fake clock, which moves only when the scenario moves it: this ends its wait.
    public void WakeWorkers()
    {
        if (_wakeups.CurrentCount == 0)
        {
            _wakeups.Release();
        }
    }

    public Task<bool> WaitForWakeupAsync(TimeSpan maxWait, CancellationToken cancellationToken = default) => _wakeups.WaitAsync(maxWait, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _changed.Dispose();
        _wakeups.Dispose();
        return Inner.DisposeAsync();
    }

    private void Poke()
    {
        if (_changed.CurrentCount == 0)
        {
            _changed.Release();
        }
    }
}
