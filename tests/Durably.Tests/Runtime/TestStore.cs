using Durably.Journal;
using Durably.Storage;

namespace Durably.Tests.Runtime;

// Wraps the in-memory store: records the order of durable writes, and can "crash" (fail every append
// from a chosen one on, as a dead process would never write again).
internal sealed class TestStore(TimeProvider? time = null) : IJournalStore
{
    private readonly Lock _gate = new();
    private Func<RunAppend, bool>? _crashWhen;
    private bool _crashed;

    public InMemoryJournalStore Inner { get; } = new(time);

    public List<string> Events { get; } = [];

    public bool Crashed => _crashed;

    public void CrashWhen(Func<RunAppend, bool> condition)
    {
        lock (_gate)
        {
            _crashWhen = condition;
            _crashed = false;
        }
    }

    public void Revive()
    {
        lock (_gate)
        {
            _crashWhen = null;
            _crashed = false;
        }
    }

    public bool HasLogged(string text)
    {
        lock (_gate)
        {
            return Events.Contains(text);
        }
    }

    public void Log(string text)
    {
        lock (_gate)
        {
            Events.Add(text);
        }
    }

    public async ValueTask AppendAsync(IReadOnlyList<RunAppend> appends, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_crashed || (_crashWhen is { } when && appends.Any(when)))
            {
                _crashed = true;
                throw new JournalStoreException("simulated crash: the process died before this write");
            }
        }

        await Inner.AppendAsync(appends, cancellationToken);
        foreach (var entry in appends.SelectMany(a => a.Entries))
        {
            Log("durable:" + Describe(entry));
        }
    }

    public static string Describe(JournalEntry entry) => entry switch
    {
        StepStarted s => $"intent {s.Name}",
        StepCompleted c => $"outcome {c.Step}",
        StepFailed f => $"failed {f.Step}",
        _ => entry.GetType().Name,
    };

    public Task<IReadOnlyList<JournalEntry>> ReadAsync(RunId runId, long fromSequence = 0, CancellationToken cancellationToken = default) => Inner.ReadAsync(runId, fromSequence, cancellationToken);

    public Task<RunRecord?> GetRunAsync(RunId runId, CancellationToken cancellationToken = default) => Inner.GetRunAsync(runId, cancellationToken);

    public Task<RunPage> ListRunsAsync(RunQuery query, CancellationToken cancellationToken = default) => Inner.ListRunsAsync(query, cancellationToken);

    public Task<DeliveredSignal> DeliverSignalAsync(RunId runId, SignalMessage signal, CancellationToken cancellationToken = default) => Inner.DeliverSignalAsync(runId, signal, cancellationToken);

    public Task<IReadOnlyList<DeliveredSignal>> ReadSignalsAsync(RunId runId, long afterSignalId = 0, CancellationToken cancellationToken = default) => Inner.ReadSignalsAsync(runId, afterSignalId, cancellationToken);

    // Called with what each ClaimRunsAsync returned.
    public Action<IReadOnlyList<RunLease>>? Claimed { get; set; }

    // Awaited after each lease release took effect, before ReleaseLeaseAsync returns.
    public Func<RunLease, Task>? AfterRelease { get; set; }

    public async Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default)
    {
        var leases = await Inner.ClaimRunsAsync(request, cancellationToken);
        Claimed?.Invoke(leases);
        return leases;
    }

    public Task<RunLease?> TryClaimRunAsync(RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => Inner.TryClaimRunAsync(runId, owner, leaseDuration, cancellationToken);

    public Task<RunLease> RenewLeaseAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => Inner.RenewLeaseAsync(lease, leaseDuration, cancellationToken);

    public async Task ReleaseLeaseAsync(RunLease lease, CancellationToken cancellationToken = default)
    {
        await Inner.ReleaseLeaseAsync(lease, cancellationToken);
        if (AfterRelease is { } hook)
        {
            await hook(lease);
        }
    }

    public Task<PurgeResult> PurgeRunsAsync(PurgeRequest request, CancellationToken cancellationToken = default) => Inner.PurgeRunsAsync(request, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
