using System.Collections.Concurrent;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Sqlite.Tests;

// Passes every call to a store and counts the calls and their failures per method, so a test can tell a backoff
// from a hot retry loop.
internal sealed class CountingStore(IJournalStore inner) : IJournalStore
{
    private readonly ConcurrentDictionary<string, int> _calls = new();
    private readonly ConcurrentQueue<Exception> _failures = new();
    private readonly TaskCompletionSource<Exception> _firstFailure = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyCollection<Exception> Failures => _failures;

    // Completes with the first exception a call throws.
    public Task<Exception> FirstFailure => _firstFailure.Task;

    // The calls so far per method; subtract two of them to count the calls in between.
    public Dictionary<string, int> Snapshot() => new(_calls, StringComparer.Ordinal);

    public static Dictionary<string, int> Between(Dictionary<string, int> before, Dictionary<string, int> after)
        => after.ToDictionary(c => c.Key, c => c.Value - before.GetValueOrDefault(c.Key), StringComparer.Ordinal);

    public static string Describe(Dictionary<string, int> calls) => string.Join(", ", calls.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"));

    public async ValueTask AppendAsync(IReadOnlyList<RunAppend> appends, CancellationToken cancellationToken = default)
        => await CountAsync(nameof(AppendAsync), async () => { await inner.AppendAsync(appends, cancellationToken); return 0; });

    public Task<IReadOnlyList<JournalEntry>> ReadAsync(RunId runId, long fromSequence = 0, CancellationToken cancellationToken = default)
        => CountAsync(nameof(ReadAsync), () => inner.ReadAsync(runId, fromSequence, cancellationToken));

    public Task<RunRecord?> GetRunAsync(RunId runId, CancellationToken cancellationToken = default)
        => CountAsync(nameof(GetRunAsync), () => inner.GetRunAsync(runId, cancellationToken));

    public Task<RunPage> ListRunsAsync(RunQuery query, CancellationToken cancellationToken = default)
        => CountAsync(nameof(ListRunsAsync), () => inner.ListRunsAsync(query, cancellationToken));

    public Task<DeliveredSignal> DeliverSignalAsync(RunId runId, SignalMessage signal, CancellationToken cancellationToken = default)
        => CountAsync(nameof(DeliverSignalAsync), () => inner.DeliverSignalAsync(runId, signal, cancellationToken));

    public Task<IReadOnlyList<DeliveredSignal>> ReadSignalsAsync(RunId runId, long afterSignalId = 0, CancellationToken cancellationToken = default)
        => CountAsync(nameof(ReadSignalsAsync), () => inner.ReadSignalsAsync(runId, afterSignalId, cancellationToken));

    public Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default)
        => CountAsync(nameof(ClaimRunsAsync), () => inner.ClaimRunsAsync(request, cancellationToken));

    public Task<RunLease?> TryClaimRunAsync(RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
        => CountAsync(nameof(TryClaimRunAsync), () => inner.TryClaimRunAsync(runId, owner, leaseDuration, cancellationToken));

    public Task<RunLease> RenewLeaseAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
        => CountAsync(nameof(RenewLeaseAsync), () => inner.RenewLeaseAsync(lease, leaseDuration, cancellationToken));

    public Task ReleaseLeaseAsync(RunLease lease, CancellationToken cancellationToken = default)
        => CountAsync(nameof(ReleaseLeaseAsync), async () => { await inner.ReleaseLeaseAsync(lease, cancellationToken); return 0; });

    public Task<PurgeResult> PurgeRunsAsync(PurgeRequest request, CancellationToken cancellationToken = default)
        => CountAsync(nameof(PurgeRunsAsync), () => inner.PurgeRunsAsync(request, cancellationToken));

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private async Task<T> CountAsync<T>(string method, Func<Task<T>> call)
    {
        _calls.AddOrUpdate(method, 1, (_, n) => n + 1);
        try
        {
            return await call();
        }
        catch (Exception ex)
        {
            _failures.Enqueue(ex);
            _firstFailure.TrySetResult(ex);
            throw;
        }
    }
}
