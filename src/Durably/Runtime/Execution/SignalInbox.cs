using Durably.Codecs;
using Durably.Journal;
using Durably.Storage;

namespace Durably;

// The signals delivered to the run, read at load, and which of them waits have consumed (journaled ones from the
// history, this activation's as it takes them). Thread-safe: parallel waits take each signal once.
internal sealed class SignalInbox
{
    private readonly Lock _gate = new();
    private readonly IJournalStore _store;
    private readonly RunId _runId;
    private readonly IReadOnlyList<DeliveredSignal> _delivered;
    private readonly HashSet<long> _consumed;
    private readonly long _readUpTo;
    private long _cancelCheckedUpTo;
    private volatile DeliveredSignal? _lateCancel;

    private SignalInbox(IJournalStore store, RunId runId, IReadOnlyList<DeliveredSignal> delivered, RunHistory history)
    {
        _store = store;
        _runId = runId;
        _delivered = delivered;
        _consumed = [.. history.ConsumedSignalIds];
        _readUpTo = delivered.Count == 0 ? 0 : delivered[^1].SignalId;
        _cancelCheckedUpTo = _readUpTo;
    }

    // True when a cancel was delivered: the activation starts cancelled.
    public bool HasCancel => _delivered.Any(s => s.Name == SignalNames.Cancel);

    public static async Task<SignalInbox> LoadAsync(IJournalStore store, RunId runId, RunHistory history, CancellationToken cancellationToken)
    {
        var delivered = await store.ReadSignalsAsync(runId, 0, cancellationToken).ConfigureAwait(false);
        return new SignalInbox(store, runId, delivered, history);
    }

    // Takes the oldest delivered, unconsumed signal with this name.
    public DeliveredSignal? Take(string name)
    {
        lock (_gate)
        {
            foreach (var signal in _delivered)
            {
                if (signal.Name == name && _consumed.Add(signal.SignalId))
                {
                    return signal;
                }
            }
        }

        return null;
    }

    public string? CancelReason(IPayloadCodec codec)
    {
        var signal = _delivered.FirstOrDefault(s => s.Name == SignalNames.Cancel) ?? _lateCancel;
        return signal?.Payload is { } payload ? codec.Decode<string>(payload) : "cancelled";
    }

    // Reads the signals delivered since the last look and says whether a cancel is among them: a cancel requested by a client in
    // another process, while this activation runs (the lease renewal loop asks), or the one the runtime's own client acted on
    // (the activation asks as it ends cancelled, for the reason). Two callers at once at most read the same signals twice.
    public async Task<bool> CancelArrivedAsync(CancellationToken cancellationToken)
    {
        if (HasCancel || _lateCancel is not null)
        {
            return false;
        }

        var fresh = await _store.ReadSignalsAsync(_runId, Volatile.Read(ref _cancelCheckedUpTo), cancellationToken).ConfigureAwait(false);
        if (fresh.Count == 0)
        {
            return false;
        }

        Volatile.Write(ref _cancelCheckedUpTo, fresh[^1].SignalId);
        if (fresh.FirstOrDefault(s => s.Name == SignalNames.Cancel) is not { } cancel)
        {
            return false;
        }

        _lateCancel ??= cancel;
        return true;
    }

    // Reads signals delivered since the run loaded; true if any arrived (the run should go on instead of sleeping).
    public async Task<bool> HasNewSignalsAsync(CancellationToken cancellationToken)
    {
        var fresh = await _store.ReadSignalsAsync(_runId, _readUpTo, cancellationToken).ConfigureAwait(false);
        return fresh.Count > 0;
    }
}
