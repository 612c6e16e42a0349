using Durably.Codecs;
using Durably.Journal;
using Durably.Storage;

namespace Durably;

// The parts of one activation of a run, each owning its own state: where replay is (Cursor), what is written (Journal),
// whether it unloads (Suspension), how it stops (Cancellation), the signals it may consume (Inbox), the compensations it
// registered, the fork source it may reuse, and the heartbeat timeouts of its running steps. Built once the journal is loaded; holds no state of its own.
internal sealed record Activation(
    DurableRuntime Runtime,
    RunHistory History,
    WorkflowDefinition Definition,
    ReplayCursor Cursor,
    JournalAppender Journal,
    RunSuspension Suspension,
    RunCancellation Cancellation,
    SignalInbox Inbox,
    CompensationStack Compensations,
    ForkSource? Fork)
{
    public RunId RunId => Journal.Lease.RunId;

    // The heartbeat timeouts of the steps running live now, which shorten the lease while they run.
    public HeartbeatLeases Heartbeats { get; } = new();

    public IPayloadCodec Codec => Runtime.Options.Codec;

    public TimeProvider Time => Runtime.Options.TimeProvider;

    // Loads what an activation needs besides the journal (the signal inbox, a fork's source) and assembles it.
    public static async Task<Activation> LoadAsync(DurableRuntime runtime, RunLease lease, RunHistory history, WorkflowDefinition definition, CancellationToken shutdown)
    {
        var fork = await ForkSource.LoadAsync(runtime.Store, history.Started.Fork, shutdown).ConfigureAwait(false);
        var inbox = await SignalInbox.LoadAsync(runtime.Store, lease.RunId, history, shutdown).ConfigureAwait(false);
        var cancellation = new RunCancellation(shutdown);
        if (inbox.HasCancel)
        {
            cancellation.CancelPending();
        }

        var cursor = new ReplayCursor(runtime, lease.RunId, history, cancellation.Token);
        var journal = new JournalAppender(runtime, lease, history, cursor);
        return new Activation(runtime, history, definition, cursor, journal, new RunSuspension(runtime.Options), cancellation, inbox, new CompensationStack(), fork);
    }

    // Stops a durable call before it does anything once the activation cannot go on.
    public void ThrowIfStopped()
    {
        ThrowIfBroken();
        if (Suspension.IsSuspended)
        {
            throw new RunSuspendedException();
        }
    }

    // Stops a durable call once nothing more can be journaled (a failed write, a divergence); a suspension does not stop it.
    public void ThrowIfBroken()
    {
        if (Journal.Fault is { } fault)
        {
            throw new JournalStoreException($"Run '{RunId}' cannot continue: an earlier journal write failed ({fault.Message}).", fault);
        }

        if (Cursor.Divergence is { } nd)
        {
            throw nd;
        }
    }

    public StepContext NewStepContext(int step, string name, int attempt, StepAttemptWatch? watch = null)
        => new(RunId, step, name, attempt, Journal.Lease.Epoch, Runtime.StepLogger, watch?.Token ?? Cancellation.StepToken, watch);

    public T Decode<T>(Payload? payload) => payload is null ? default! : Codec.Decode<T>(payload);

    public Payload? Encode<T>(T value) => value is null ? null : Codec.Encode(value);

    public ErrorInfo Seal(ErrorInfo error) => error.Seal(Codec);
}
