using Durably.AI;
using Durably.Storage;

namespace Durably.Cli.Commands;

// The readable form of a run's model and tool steps, for `runs show` and the dashboard. Durably.AI owns the records a
// DurableChatClient and durable tools journal, so it reads them (AIStepViews); the core's timeline stays unaware of AI.
internal static class StepViews
{
    public static async Task<IReadOnlyDictionary<int, AIStepView>> ReadAsync(IJournalStore store, RunId runId, CancellationToken cancellationToken)
        => AIStepViews.Read(await store.ReadAsync(runId, 0, cancellationToken));
}
