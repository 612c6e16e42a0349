using System.Text.Json;
using Durably.AI;
using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Cli.Commands;

// The text form of `durably runs show`.
internal static class TimelineText
{
    public static void Write(TextWriter output, RunTimeline timeline, IReadOnlyDictionary<int, AIStepView> views)
    {
        output.WriteLine($"Run        {timeline.RunId}");
        output.WriteLine($"Workflow   {timeline.Workflow} (version {timeline.WorkflowVersion})");
        output.WriteLine($"Status     {Format.Status(timeline.Status)}{(timeline.StatusDetail is { } detail ? " - " + detail : string.Empty)}");
        output.WriteLine($"Started    {Format.Time(timeline.StartedAt)}");
        output.WriteLine($"Updated    {Format.Time(timeline.UpdatedAt)}");
        output.WriteLine($"Resumed    {timeline.Resumptions} time(s) after an earlier activation");
        output.WriteLine($"Tokens     spent {Format.Number(timeline.TokensSpent.InputTokens)} in / {Format.Number(timeline.TokensSpent.OutputTokens)} out; saved by replay {Format.Number(timeline.TokensSaved.InputTokens)} in / {Format.Number(timeline.TokensSaved.OutputTokens)} out");
        if (timeline.Fork is { } fork)
        {
            var modes = new List<string>();
            if (fork.ReuseModelOutputs)
            {
                modes.Add("reuses recorded model outputs");
            }

            if (fork.DryRun)
            {
                modes.Add("dry run: effects return recorded results");
            }

            output.WriteLine($"Forked     from {fork.Source} at step {fork.AtStep}{(modes.Count > 0 ? " (" + string.Join("; ", modes) + ")" : string.Empty)}");
            if (fork.ReuseModelOutputs)
            {
                var hits = timeline.Steps.Where(s => s.CacheHit).ToList();
                output.WriteLine(hits.Count == 0
                    ? "Cache hits none: every model request differed from the source's"
                    : $"Cache hits step(s) {string.Join(", ", hits.Select(h => h.Step))}: the same request as in {fork.Source}, answered from it ({Format.Number(hits.Sum(h => h.Usage?.TotalTokens ?? 0))} tokens not spent)");
            }
        }

        if (timeline.ParentRunId is { } parent)
        {
            output.WriteLine($"Parent     {parent} (its step {timeline.ParentStep}); see it with: durably runs show {parent}");
        }

        if (timeline.Children is { Count: > 0 } children)
        {
            output.WriteLine($"Children   {string.Join(", ", children)}");
        }

        if (timeline.Input is not null)
        {
            output.WriteLine($"Input      {Format.Payload(timeline.Input, 100)}");
        }

        output.WriteLine();
        if (timeline.Steps.Count == 0)
        {
            output.WriteLine("No steps yet.");
        }
        else
        {
            Format.Table(
                output,
                ["STEP", "KIND", "NAME", "STATE", "ATTEMPTS", "DURATION", "TOKENS", "REPLAYS", "NOTES"],
                timeline.Steps.Select(s => (IReadOnlyList<string>)
                [
                    s.Step.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Kind(s.Kind),
                    Format.Clip(s.Name, 40),
                    State(s.State),
                    s.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Format.Duration(s.DurationMs),
                    Format.Tokens(s.Usage),
                    s.ReplayCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Notes(timeline, s, views.GetValueOrDefault(s.Step)),
                ]),
                rightAligned: new HashSet<int> { 0, 4, 5, 6, 7 });
        }

        foreach (var signal in timeline.PendingSignals)
        {
            output.WriteLine($"Pending signal '{signal.Name}' (id {signal.SignalId}) from {signal.Sender ?? "an unnamed sender"} at {Format.Time(signal.DeliveredAt)}: {Format.Payload(signal.Payload)}");
        }

        output.WriteLine();
        if (timeline.Result is not null || timeline.Status == RunStatus.Completed)
        {
            output.WriteLine($"Result     {Format.Payload(timeline.Result, 400)}");
        }

        if (timeline.Error is { } error)
        {
            output.WriteLine($"Error      {error.Type}: {error.Message}");
        }
    }

    private static string Kind(StepKind kind) => JsonNamingPolicy.CamelCase.ConvertName(kind.ToString());

    private static string State(StepState state) => state switch
    {
        StepState.InDoubt => "IN DOUBT",
        StepState.TimedOut => "timed out",
        _ => state.ToString().ToLowerInvariant(),
    };

    private static string Notes(RunTimeline timeline, StepTimeline step, AIStepView? view)
    {
        var notes = new List<string>();
        switch (step.State)
        {
            case StepState.InDoubt:
                notes.Add($"may or may not have happened; resolve with: durably resolve {timeline.RunId} {step.Step} --done [JSON] | --retry | --abort");
                break;
            case StepState.Waiting when step.ApprovalGate is { } gate:
                notes.Add($"waits for approval; decide with: durably approve|reject {timeline.RunId} {gate}");
                break;
            case StepState.Waiting when step.ChildRunId is { } child:
                notes.Add($"waits for child run {child}");
                break;
            case StepState.Waiting when step.Kind == StepKind.Signal:
                notes.Add($"waits for signal '{step.Name}'");
                break;
            case StepState.Waiting:
                notes.Add("waits");
                break;
        }

        if (step.ChildRunId is { } ran && step.ChildStatus is { } ended)
        {
            notes.Add($"child run {ran} {Format.Status(ended)}");
        }

        if (step.DueAt is { } due && step.State is StepState.Waiting or StepState.Running)
        {
            notes.Add($"due {Format.Time(due)}");
        }

        if (step.Decision is { } decision)
        {
            notes.Add($"{(decision.Approved ? "approved" : "rejected")} by {decision.Approver ?? "an unnamed approver"}{(decision.Comment is { } c ? $" (\"{Format.Clip(c, 60)}\")" : string.Empty)}");
        }
        else if (step.SignalName is not null && step.State == StepState.Completed)
        {
            notes.Add($"signal from {step.Sender ?? "an unnamed sender"}: {Format.Payload(step.Result, 50)}");
        }
        else if (view is { Tool: { } tool })
        {
            notes.Add($"{tool}({(view.Arguments is { } arguments ? Format.Json(arguments, 40) : string.Empty)}) -> {Format.Json(view.Result, 60)}");
        }
        else if (view is not null)
        {
            if (view.Text is { } text)
            {
                notes.Add($"\"{Format.Clip(text, 60)}\"");
            }

            if (view.ToolCalls.Count > 0)
            {
                notes.Add("asks for " + string.Join(", ", view.ToolCalls.Select(c => $"{c.Name}({(c.Arguments is { } a ? Format.Json(a, 30) : string.Empty)})")));
            }
        }
        else if (step.Result is not null && step.State == StepState.Completed)
        {
            notes.Add("-> " + Format.Payload(step.Result, 50));
        }

        if (step.CacheHit)
        {
            notes.Add($"cache hit: answered from {timeline.Fork?.Source.Value ?? "the source run"}");
        }
        else if (step.ResolvedBy is { } by)
        {
            notes.Add($"resolved by {by}");
        }

        if (step.Error is { } error)
        {
            var which = step.State switch
            {
                StepState.Retrying => "last attempt failed",
                StepState.Completed => "an earlier attempt failed",
                _ => "failed",
            };
            notes.Add($"{which}: {Format.Clip(error.Message, 60)}");
        }

        if (step.RetryAt is { } retry && step.State == StepState.Retrying)
        {
            notes.Add($"retry at {Format.Time(retry)}");
        }

        return string.Join("; ", notes);
    }
}
