using System.Diagnostics;
using Durably.Journal;
using Durably.Storage;

namespace Durably;

// Writes one activation's entries to the run's journal in call order: assigns sequence numbers and timestamps, fences
// every write with the lease epoch, adds RunResumed to the first write of a resumed run, and stops at the first failed
// write (later writes would fail the sequence check anyway). Thread-safe.
internal sealed class JournalAppender(DurableRuntime runtime, RunLease lease, RunHistory history, ReplayCursor cursor)
{
    private readonly Lock _gate = new();
    private long _nextSequence = history.NextSequence;
    private Task _lastAppend = Task.CompletedTask;
    private Exception? _fault;
    private bool _markedRunning;

    // Renewed by the runtime while the activation runs; the epoch is the fencing token of every write.
    public RunLease Lease { get; set; } = lease;

    // The first failed write's cause, after which the activation cannot record anything.
    public Exception? Fault => Volatile.Read(ref _fault);

    private bool Resumed => history.NextSequence > 1;

    // Appends entries after everything this activation appended before; the task completes when they are durable.
    public Task AppendAsync(IReadOnlyList<JournalEntry> entries, RunStatus? status = null, DateTimeOffset? wakeAt = null, string? detail = null)
    {
        lock (_gate)
        {
            if (_fault is not null)
            {
                return Task.FromException(_fault);
            }

            var now = runtime.Options.TimeProvider.GetUtcNow();
            var lease = Lease;
            if (!_markedRunning && Resumed && (entries.Count > 0 || status == RunStatus.Suspended))
            {
                // Record the resumption with the activation's first write: no extra sync, and it tells timelines
                // how often each step was replayed.
                entries = [new RunResumed { ReplayedSteps = cursor.ReplayedSteps, Worker = lease.Owner, LeaseEpoch = lease.Epoch }, .. entries];
            }

            var stamped = new JournalEntry[entries.Count];
            for (var i = 0; i < stamped.Length; i++)
            {
                stamped[i] = entries[i] with { Sequence = _nextSequence + i, Timestamp = now };
            }

            if (!_markedRunning && status is null)
            {
                // The first write of an activation marks the run running again (clearing a suspension's wake time).
                status = RunStatus.Running;
            }

            _markedRunning = true;
            var append = new RunAppend(lease.RunId, _nextSequence, stamped) { Status = status, WakeAt = wakeAt, StatusDetail = detail, LeaseEpoch = lease.Epoch };
            _nextSequence += stamped.Length;
            var started = Stopwatch.GetTimestamp();
            ValueTask write;
            try
            {
                write = runtime.Store.AppendAsync(append);
            }
            catch (Exception ex)
            {
                write = ValueTask.FromException(ex);
            }

            var task = CompleteAsync(write, started);
            _lastAppend = task;
            return task;
        }
    }

    // Waits for the last write (and so every earlier one) and keeps its failure as the fault.
    public async Task DrainAsync()
    {
        Task last;
        lock (_gate)
        {
            last = _lastAppend;
        }

        try
        {
            await last.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            lock (_gate)
            {
                _fault ??= ex;
            }
        }
    }

    // Keeps the first failure as the fault before the caller sees it: later appends of this run would fail on the
    // sequence check, so the first cause is the one to report. An await, not a ContinueWith: no extra task, and
    // the caller's continuation runs on the thread that completed the write.
    private async Task CompleteAsync(ValueTask write, long started)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            lock (_gate)
            {
                _fault ??= ex;
            }

            throw;
        }

        runtime.RecordAppendLatency(Stopwatch.GetElapsedTime(started));
        runtime.NotifyAppended(Lease.RunId);
    }
}
