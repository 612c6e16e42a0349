using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Cli;

// The changes the CLI and the dashboard make, through a DurableClient, with the same checks in both: each returns once the change is durable.
internal static class RunOperations
{
    public static Task<DeliveredSignal> SignalAsync(DurableClient client, RunId runId, string name, Payload? payload, string sender, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new CliException(ExitCodes.BadInput, "The signal name is empty. Give the name the workflow waits for.");
        }

        if (name.StartsWith('$') || name.StartsWith("approval:", StringComparison.Ordinal))
        {
            throw new CliException(ExitCodes.BadInput, $"The signal name '{name}' is reserved: names starting with '$' or 'approval:' are the runtime's own signals. Use 'durably approve' or 'durably reject' for an approval gate, 'durably cancel' to cancel a run, 'durably resolve' for a step in doubt.");
        }

        return client.SignalAsync(new SignalRequest(runId, name) { Payload = payload, Sender = sender }, cancellationToken);
    }

    // Refuses a gate the run does not wait at when it waits at others (a mistyped gate would otherwise never be read).
    public static async Task<(DeliveredSignal Delivered, bool WasWaiting)> DecideAsync(DurableClient client, RunId runId, string gate, bool approve, string approver, string? comment, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(gate))
        {
            throw new CliException(ExitCodes.BadInput, "The gate name is empty. Give the gate the workflow waits at (see 'durably runs show RUN').");
        }

        var timeline = await client.GetTimelineAsync(runId, cancellationToken);
        if (timeline.Status.IsFinished())
        {
            throw new RunFinishedException(runId, timeline.Status);
        }

        var waiting = PendingApproval.FromTimeline(timeline);
        if (waiting.Count > 0 && waiting.All(w => w.Gate != gate))
        {
            throw new CliException(ExitCodes.Conflict, $"Run {runId} waits at {string.Join(", ", waiting.Select(w => $"'{w.Gate}'"))}, not at '{gate}'. Check the gate name; nothing was delivered.");
        }

        var delivered = await client.ApproveAsync(new ApprovalRequest(runId, gate, approver) { Approved = approve, Comment = comment }, cancellationToken);
        return (delivered, waiting.Count > 0);
    }

    // Only a step the timeline shows in doubt can be resolved: resolving anything else would sit unread in the inbox.
    public static async Task<(DeliveredSignal Delivered, StepTimeline Step)> ResolveAsync(DurableClient client, RunId runId, int step, InDoubtResolution resolution, string resolvedBy, CancellationToken cancellationToken)
    {
        var timeline = await client.GetTimelineAsync(runId, cancellationToken);
        var target = timeline.Steps.FirstOrDefault(s => s.Step == step)
            ?? throw new CliException(ExitCodes.NotFound, $"Run {runId} has no step {step}. See its steps with 'durably runs show {runId}'.");
        if (target.State != StepState.InDoubt)
        {
            var inDoubt = timeline.Steps.Where(s => s.State == StepState.InDoubt).Select(s => s.Step.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            throw new CliException(ExitCodes.Conflict, $"Step {step} '{target.Name}' of run {runId} is {target.State.ToString().ToLowerInvariant()}, not in doubt; only an effect step left in doubt under the AskHuman policy can be resolved. {(inDoubt.Count > 0 ? $"Steps in doubt: {string.Join(", ", inDoubt)}." : "No step of this run is in doubt.")}");
        }

        var delivered = await client.ResolveInDoubtAsync(new ResolveRequest(runId, step, resolution, resolvedBy), cancellationToken);
        return (delivered, target);
    }
}
