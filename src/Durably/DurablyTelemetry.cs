using System.Diagnostics;
using System.Diagnostics.Metrics;
using Durably.Storage;

namespace Durably;

/// <summary>Names the <see cref="ActivitySource"/> and <see cref="Meter"/> Durably reports through, both called <c>Durably</c>.</summary>
/// <remarks>
/// <para>Spans: <c>durably.run</c> per activation (a first start or a resumption) and one span per step under it, named
/// <c>durably.step</c> or as the step's <see cref="StepTelemetry"/> says (<c>chat {model}</c>, <c>execute_tool {name}</c>
/// with the OpenTelemetry GenAI <c>gen_ai.*</c> attributes). A step answered from the journal is tagged
/// <c>durably.replayed=true</c>; its recorded token usage is reported as <c>durably.tokens_saved.input_tokens</c> and
/// <c>durably.tokens_saved.output_tokens</c>, never as <c>gen_ai.usage.*</c>, so a trace does not count tokens twice.</para>
/// <para>Metrics: the counters <c>durably.steps.executed</c> and <c>durably.steps.replayed</c> (by <c>durably.step.kind</c>),
/// <c>durably.retries</c>, <c>durably.indoubt.resolutions</c> (effects found in doubt at recovery, by <c>policy</c>),
/// <c>durably.tokens.used</c> and <c>durably.tokens.saved</c> (by <c>gen_ai.request.model</c>, <c>gen_ai.response.model</c> and
/// <c>gen_ai.token.type</c>);
/// the histograms <c>durably.journal.commit.duration</c> (seconds from handing an append to the store until it is durable)
/// and <c>durably.run.duration</c> (seconds from a run's start to its end, by <c>durably.workflow</c> and
/// <c>durably.run.status</c>).</para>
/// <para>Nothing is measured or allocated for spans and instruments nobody listens to. With the OpenTelemetry SDK, subscribe with
/// <c>AddDurablyInstrumentation()</c> from the <c>Durably.OpenTelemetry</c> package, or <c>AddSource("Durably")</c> and
/// <c>AddMeter("Durably")</c>.</para>
/// </remarks>
public static class DurablyTelemetry
{
    /// <summary>The name of the activity source and the meter.</summary>
    public const string Name = "Durably";

    internal static readonly ActivitySource Source = new(Name);
    internal static readonly Meter Meter = new(Name);
    internal static readonly Counter<long> StepsExecuted = Meter.CreateCounter<long>("durably.steps.executed", "{step}", "Step bodies executed.");
    internal static readonly Counter<long> StepsReplayed = Meter.CreateCounter<long>("durably.steps.replayed", "{step}", "Steps answered from the journal without running.");
    internal static readonly Counter<long> Retries = Meter.CreateCounter<long>("durably.retries", description: "Failed step attempts that will be retried.");
    internal static readonly Counter<long> InDoubtResolutions = Meter.CreateCounter<long>("durably.indoubt.resolutions", description: "Effect steps found in doubt at recovery.");
    internal static readonly Counter<long> TokensUsed = Meter.CreateCounter<long>("durably.tokens.used", "{token}", "Tokens used by steps that ran (model calls).");
    internal static readonly Counter<long> TokensSaved = Meter.CreateCounter<long>("durably.tokens.saved", "{token}", "Tokens a replayed step would have used again, saved by answering it from the journal.");
    internal static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>("durably.journal.commit.duration", "s", "Time from handing an append to the store until it is durable.");
    internal static readonly Histogram<double> RunDuration = Meter.CreateHistogram<double>("durably.run.duration", "s", "Time from a run's start to its end.");

    internal static Activity? StartRun(RunId runId, string workflow, bool resumed)
    {
        var activity = Source.StartActivity("durably.run");
        if (activity is not null)
        {
            activity.SetTag("durably.run_id", runId.Value);
            activity.SetTag("durably.workflow", workflow);
            activity.SetTag("durably.resumed", resumed);
        }

        return activity;
    }

    internal static void RunFinished(Activity? activity, string workflow, RunStatus status, DateTimeOffset startedAt, DateTimeOffset now)
    {
        if (activity is not null)
        {
            activity.SetTag("durably.run.status", status.ToString());
            if (status != RunStatus.Completed)
            {
                activity.SetStatus(ActivityStatusCode.Error, status.ToString());
            }
        }

        if (RunDuration.Enabled)
        {
            RunDuration.Record(Math.Max(0, (now - startedAt).TotalSeconds), new("durably.workflow", workflow), new("durably.run.status", status.ToString()));
        }
    }

    internal static Activity? StartStep(RunId runId, StepInfo step, bool replayed, StepTelemetry? telemetry = null)
    {
        var activity = Source.StartActivity("durably.step");
        if (activity is not null)
        {
            if (telemetry?.SpanName is { } spanName)
            {
                activity.DisplayName = spanName;
            }

            activity.SetTag("durably.run_id", runId.Value);
            activity.SetTag("durably.step", step.Step);
            activity.SetTag("durably.step.name", step.Name);
            activity.SetTag("durably.step.kind", step.Kind.ToString());
            activity.SetTag("durably.step.attempt", step.Attempt);
            activity.SetTag("durably.replayed", replayed);
            foreach (var (key, value) in telemetry?.Tags ?? [])
            {
                activity.SetTag(key, value);
            }
        }

        return activity;
    }

    // A step body ran and its outcome is durable: count it and its tokens, and describe its span.
    // Generic over the result so that a step with no span described boxes nothing.
    internal static void StepExecuted<T>(Activity? activity, StepInfo step, StepTelemetry? telemetry, T result, TokenUsage? usage)
    {
        if (StepsExecuted.Enabled)
        {
            StepsExecuted.Add(1, new KeyValuePair<string, object?>("durably.step.kind", step.Kind.ToString()));
        }

        CountTokens(TokensUsed, usage, telemetry);
        if (activity is not null && telemetry?.Describe is { } describe)
        {
            describe(activity, new StepSpanOutcome(false, result, usage));
        }
    }

    internal static void StepFailed(Activity? activity, Exception error, StepTelemetry? telemetry)
    {
        if (activity is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.Message);
            activity.SetTag("error.type", error.GetType().FullName);
            telemetry?.Describe?.Invoke(activity, new StepSpanOutcome(false, null, null));
        }
    }

    // A step was answered from the journal: its recorded tokens are saved, not used, and are not gen_ai usage on its span.
    internal static void StepReplayed<T>(RunId runId, StepInfo step, TokenUsage? usage, StepTelemetry? telemetry, T result)
    {
        if (StepsReplayed.Enabled)
        {
            StepsReplayed.Add(1, new KeyValuePair<string, object?>("durably.step.kind", step.Kind.ToString()));
        }

        CountTokens(TokensSaved, usage, telemetry);
        using var activity = StartStep(runId, step, replayed: true, telemetry);
        if (activity is not null)
        {
            if (usage is not null)
            {
                activity.SetTag("durably.tokens_saved.input_tokens", usage.InputTokens);
                activity.SetTag("durably.tokens_saved.output_tokens", usage.OutputTokens);
            }

            if (telemetry?.Describe is { } describe)
            {
                describe(activity, new StepSpanOutcome(true, result, null));
            }
        }
    }

    internal static void RecordCommit(TimeSpan latency)
    {
        if (CommitDuration.Enabled)
        {
            CommitDuration.Record(latency.TotalSeconds);
        }
    }

    private static void CountTokens(Counter<long> counter, TokenUsage? usage, StepTelemetry? telemetry)
    {
        if (usage is null || !counter.Enabled)
        {
            return;
        }

        var requested = new KeyValuePair<string, object?>("gen_ai.request.model", telemetry?.Model);
        var responded = new KeyValuePair<string, object?>("gen_ai.response.model", usage.Model);
        counter.Add(usage.InputTokens, requested, responded, new("gen_ai.token.type", "input"));
        counter.Add(usage.OutputTokens, requested, responded, new("gen_ai.token.type", "output"));
    }
}
