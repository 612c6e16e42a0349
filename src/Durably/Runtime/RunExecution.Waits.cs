using Durably.Journal;
using Durably.Storage;

namespace Durably;

internal sealed partial class RunExecution
{
    public async Task<T> WaitForSignalAsync<T>(string name, TimeSpan? timeout)
    {
        var signal = await WaitForSignalCoreAsync(name, timeout, StepKind.Signal).ConfigureAwait(false);
        return Decode<T>(signal.Payload);
    }

    public async Task<ApprovalDecision> WaitForApprovalAsync(string gate, TimeSpan? timeout)
    {
        var signal = await WaitForSignalCoreAsync(SignalNames.Approval(gate), timeout, StepKind.Signal).ConfigureAwait(false);
        var payload = signal.Payload is null ? null : Codec.Decode<ApprovalPayload>(signal.Payload);
        return new ApprovalDecision(payload?.Approved ?? false, signal.Sender, payload?.Comment);
    }

    public async Task SleepAsync(TimeSpan duration, string name)
    {
        ThrowIfStopped();
        var step = Interlocked.Increment(ref _nextStep);
        var record = Match(step, StepKind.Timer, name);
        if (record?.Fired is not null)
        {
            Replayed(step, StepKind.Timer, name, 1, null);
            return;
        }

        ThrowIfCancelled();
        var due = record?.Timer?.DueAt;
        if (due is null)
        {
            due = Time.GetUtcNow() + duration;
            await AppendAsync(
            [
                new StepStarted { Step = step, Kind = StepKind.Timer, Name = name },
                new TimerStarted { Step = step, DueAt = due.Value, Name = name },
            ]).ConfigureAwait(false);
        }

        await WaitUntilAsync(due.Value, $"timer: step {step} '{name}' until {due.Value:O}").ConfigureAwait(false);
        await AppendAsync([new TimerFired { Step = step }]).ConfigureAwait(false);
        _runtime.Observe(o => o.OnStepCompleted(RunId, new StepInfo(step, StepKind.Timer, name, 1), duration, null, failed: false));
    }

    private async Task<SignalReceived> WaitForSignalCoreAsync(string name, TimeSpan? timeout, StepKind kind)
    {
        ThrowIfStopped();
        var step = Interlocked.Increment(ref _nextStep);
        var record = Match(step, kind, name);
        if (record?.Signal is { } received)
        {
            Replayed(step, kind, name, 1, null);
            return received.TimedOut ? throw TimedOut(name, timeout) : received;
        }

        ThrowIfCancelled();
        var due = record?.Timer?.DueAt;
        if (record is null)
        {
            // The intent (and the deadline) are journaled first, so every replay waits for the same thing until the same time.
            due = timeout is { } t ? Time.GetUtcNow() + t : null;
            JournalEntry intent = new StepStarted { Step = step, Kind = kind, Name = name };
            await AppendAsync(due is { } d ? [intent, new TimerStarted { Step = step, DueAt = d, Name = name }] : [intent]).ConfigureAwait(false);
        }

        if (TakeSignal(name) is { } signal)
        {
            var entry = new SignalReceived { Step = step, Name = name, Payload = signal.Payload, Sender = signal.Sender, SignalId = signal.SignalId };
            await AppendAsync([entry]).ConfigureAwait(false);
            _runtime.Observe(o => o.OnStepCompleted(RunId, new StepInfo(step, kind, name, 1), TimeSpan.Zero, null, failed: false));
            return entry;
        }

        if (due is { } deadline && Time.GetUtcNow() >= deadline)
        {
            await AppendAsync([new SignalReceived { Step = step, Name = name, TimedOut = true }]).ConfigureAwait(false);
            throw TimedOut(name, timeout);
        }

        throw Suspend(due, $"signal: step {step} waits for '{name}'");
    }

    // Takes the oldest delivered, unconsumed signal with this name.
    private DeliveredSignal? TakeSignal(string name)
    {
        lock (_stateGate)
        {
            foreach (var signal in _inbox)
            {
                if (signal.Name == name && _consumedSignals.Add(signal.SignalId))
                {
                    return signal;
                }
            }
        }

        return null;
    }

    // Returns when the time has come: at once if due, in memory if soon, else suspends the run until then.
    private async Task WaitUntilAsync(DateTimeOffset due, string detail)
    {
        var remaining = due - Time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        if (remaining > _runtime.Options.MaxInMemoryWait)
        {
            throw Suspend(due, detail);
        }

        await Task.Delay(remaining, Time, _runCancellation.Token).ConfigureAwait(false);
    }

    // Reads signals delivered since the run loaded; true if any arrived (the run should go on instead of sleeping).
    public async Task<bool> HasNewSignalsAsync(CancellationToken cancellationToken)
    {
        var fresh = await _store.ReadSignalsAsync(RunId, _inboxCursor, cancellationToken).ConfigureAwait(false);
        return fresh.Count > 0;
    }

    private static TimeoutException TimedOut(string name, TimeSpan? timeout)
        => new($"No signal '{name}' arrived within {timeout}.");
}
