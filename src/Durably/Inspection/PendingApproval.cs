using Durably.Storage;

namespace Durably.Inspection;

/// <summary>Is an approval gate that a suspended run waits at (<see cref="RunContext.WaitForApprovalAsync"/>).</summary>
/// <remarks>Deliver the decision with <see cref="DurableClient.ApproveAsync(ApprovalRequest, CancellationToken)"/>, <c>durably approve</c> or the dashboard.</remarks>
public sealed record PendingApproval
{
    /// <summary>Gets the waiting run.</summary>
    public required RunId RunId { get; init; }

    /// <summary>Gets the run's workflow.</summary>
    public required string Workflow { get; init; }

    /// <summary>Gets the gate's name, as the workflow passed it to <see cref="RunContext.WaitForApprovalAsync"/>.</summary>
    public required string Gate { get; init; }

    /// <summary>Gets the number of the wait step.</summary>
    public required int Step { get; init; }

    /// <summary>Gets when the run started waiting.</summary>
    public DateTimeOffset? WaitingSince { get; init; }

    /// <summary>Gets when the wait times out, if it has a timeout.</summary>
    public DateTimeOffset? TimeoutAt { get; init; }

    /// <summary>Lists the approval gates that suspended runs in <paramref name="store"/> wait at, newest run first.</summary>
    /// <param name="store">The store to read.</param>
    /// <param name="workflow">Only runs of this workflow, or <see langword="null"/> for all.</param>
    /// <param name="maxCount">The most gates returned.</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <remarks>Reads the index for suspended runs whose <see cref="RunRecord.StatusDetail"/> names an approval, then each such
    /// run's journal to find its open approval waits; a run that finishes or is purged meanwhile is left out.</remarks>
    public static async Task<IReadOnlyList<PendingApproval>> ListAsync(IJournalStore store, string? workflow = null, int maxCount = 100, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var pending = new List<PendingApproval>();
        string? token = null;
        do
        {
            var page = await store.ListRunsAsync(new RunQuery { Statuses = [RunStatus.Suspended], Workflow = workflow, ContinuationToken = token }, cancellationToken).ConfigureAwait(false);
            foreach (var run in page.Runs)
            {
                if (run.StatusDetail?.Contains('\'' + SignalNames.ApprovalPrefix, StringComparison.Ordinal) != true)
                {
                    continue;
                }

                RunTimeline timeline;
                try
                {
                    timeline = await RunTimeline.LoadAsync(store, run.RunId, cancellationToken).ConfigureAwait(false);
                }
                catch (RunNotFoundException)
                {
                    continue;
                }

                foreach (var gate in FromTimeline(timeline))
                {
                    pending.Add(gate);
                    if (pending.Count == maxCount)
                    {
                        return pending;
                    }
                }
            }

            token = page.ContinuationToken;
        }
        while (token is not null);

        return pending;
    }

    /// <summary>Returns the approval gates a run waits at according to its timeline: none unless it is suspended.</summary>
    public static IReadOnlyList<PendingApproval> FromTimeline(RunTimeline timeline)
    {
        ArgumentNullException.ThrowIfNull(timeline);
        if (timeline.Status != RunStatus.Suspended)
        {
            return [];
        }

        return
        [
            .. timeline.Steps
                .Where(s => s.State == StepState.Waiting && s.ApprovalGate is not null)
                .Select(s => new PendingApproval
                {
                    RunId = timeline.RunId,
                    Workflow = timeline.Workflow,
                    Gate = s.ApprovalGate!,
                    Step = s.Step,
                    WaitingSince = s.StartedAt,
                    TimeoutAt = s.DueAt,
                }),
        ];
    }
}
