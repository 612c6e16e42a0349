using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Durably;

/// <summary>Names the <see cref="ActivitySource"/> and <see cref="Meter"/> Durably reports through, both called <c>Durably</c>.</summary>
/// <remarks>
/// Spans: <c>durably.run</c> per activation and <c>durably.step</c> per step, tagged <c>durably.replayed</c> when the
/// step came from the journal. Counters: <c>durably.steps.executed</c>, <c>durably.steps.replayed</c>,
/// <c>durably.retries</c>, <c>durably.indoubt.resolutions</c>.
/// </remarks>
public static class DurablyTelemetry
{
    /// <summary>The name of the activity source and the meter.</summary>
    public const string Name = "Durably";

    internal static readonly ActivitySource Source = new(Name);
    internal static readonly Meter Meter = new(Name);
    internal static readonly Counter<long> StepsExecuted = Meter.CreateCounter<long>("durably.steps.executed", description: "Step bodies executed.");
    internal static readonly Counter<long> StepsReplayed = Meter.CreateCounter<long>("durably.steps.replayed", description: "Steps answered from the journal without running.");
    internal static readonly Counter<long> Retries = Meter.CreateCounter<long>("durably.retries", description: "Failed step attempts that will be retried.");
    internal static readonly Counter<long> InDoubtResolutions = Meter.CreateCounter<long>("durably.indoubt.resolutions", description: "Effect steps found in doubt at recovery.");

    internal static Activity? StartRun(RunId runId, string workflow)
    {
        var activity = Source.StartActivity("durably.run");
        activity?.SetTag("durably.run_id", runId.Value);
        activity?.SetTag("durably.workflow", workflow);
        return activity;
    }

    internal static Activity? StartStep(RunId runId, StepInfo step, bool replayed)
    {
        var activity = Source.StartActivity("durably.step");
        if (activity is not null)
        {
            activity.SetTag("durably.run_id", runId.Value);
            activity.SetTag("durably.step", step.Step);
            activity.SetTag("durably.step.name", step.Name);
            activity.SetTag("durably.step.kind", step.Kind.ToString());
            activity.SetTag("durably.step.attempt", step.Attempt);
            activity.SetTag("durably.replayed", replayed);
        }

        return activity;
    }
}
