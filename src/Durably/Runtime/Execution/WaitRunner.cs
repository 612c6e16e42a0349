using Durably.Journal;

namespace Durably;

// Runs the durable waits (signals, approvals, sleeps): a journaled wait returns what it received, a live one takes a
// delivered signal or a due timer, or suspends the run until one arrives.
internal sealed class WaitRunner(Activation run)
{
    public async Task<T> WaitForSignalAsync<T>(string name, TimeSpan? timeout)
    {
        var signal = await WaitCoreAsync(name, timeout).ConfigureAwait(false);
        return run.Decode<T>(signal.Payload);
    }

    public async Task<ApprovalDecision> WaitForApprovalAsync(string gate, TimeSpan? timeout)
    {
        var signal = await WaitCoreAsync(SignalNames.Approval(gate), timeout).ConfigureAwait(false);
        var payload = signal.Payload is null ? null : run.Codec.Decode<ApprovalPayload>(signal.Payload);
        return new ApprovalDecision(payload?.Approved ?? false, signal.Sender, payload?.Comment);
    }

    public async Task SleepAsync(TimeSpan duration, string name)
    {
        run.ThrowIfStopped();
        var step = run.Cursor.Next();
        var record = run.Cursor.Match(step, StepKind.Timer, name);
        if (record?.TimerFired is not null)
        {
            run.Cursor.Replayed(new StepInfo(step, StepKind.Timer, name, 1), null);
            return;
        }

        run.Cancellation.ThrowIfCancelled();
        var due = record?.Timer?.DueAt;
        if (due is null)
        {
            due = run.Time.GetUtcNow() + duration;
            await run.Journal.AppendAsync(
            [
                new StepStarted { Step = step, Kind = StepKind.Timer, Name = name },
                new TimerStarted { Step = step, DueAt = due.Value, Name = name },
            ]).ConfigureAwait(false);
        }

        await run.Suspension.WaitUntilAsync(due.Value, $"timer: step {step} '{name}' until {due.Value:O}", run.Cancellation.Token).ConfigureAwait(false);
        await run.Journal.AppendAsync([new TimerFired { Step = step }]).ConfigureAwait(false);
        run.Runtime.Observe(o => o.OnStepCompleted(run.RunId, new StepInfo(step, StepKind.Timer, name, 1), duration, null, failed: false));
    }

    private async Task<SignalReceived> WaitCoreAsync(string name, TimeSpan? timeout)
    {
        run.ThrowIfStopped();
        var step = run.Cursor.Next();
        var record = run.Cursor.Match(step, StepKind.Signal, name);
        if (record?.Signal is { } received)
        {
            run.Cursor.Replayed(new StepInfo(step, StepKind.Signal, name, 1), null);
            return received.TimedOut ? throw TimedOut(name, timeout) : received;
        }

        run.Cancellation.ThrowIfCancelled();
        var due = record?.Timer?.DueAt;
        if (record is null)
        {
            // The intent (and the deadline) are journaled first, so every replay waits for the same thing until the same time.
            due = timeout is { } t ? run.Time.GetUtcNow() + t : null;
            JournalEntry intent = new StepStarted { Step = step, Kind = StepKind.Signal, Name = name };
            await run.Journal.AppendAsync(due is { } d ? [intent, new TimerStarted { Step = step, DueAt = d, Name = name }] : [intent]).ConfigureAwait(false);
        }

        if (run.Inbox.Take(name) is { } signal)
        {
            var entry = new SignalReceived { Step = step, Name = name, Payload = signal.Payload, Sender = signal.Sender, SignalId = signal.SignalId };
            await run.Journal.AppendAsync([entry]).ConfigureAwait(false);
            run.Runtime.Observe(o => o.OnStepCompleted(run.RunId, new StepInfo(step, StepKind.Signal, name, 1), TimeSpan.Zero, null, failed: false));
            return entry;
        }

        if (due is { } deadline && run.Time.GetUtcNow() >= deadline)
        {
            await run.Journal.AppendAsync([new SignalReceived { Step = step, Name = name, TimedOut = true }]).ConfigureAwait(false);
            throw TimedOut(name, timeout);
        }

        throw run.Suspension.Suspend(due, $"signal: step {step} waits for '{name}'");
    }

    private static TimeoutException TimedOut(string name, TimeSpan? timeout)
        => new($"No signal '{name}' arrived within {timeout}.");
}
