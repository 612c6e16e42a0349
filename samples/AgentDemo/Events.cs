using System.Text.Json;
using System.Text.Json.Nodes;
using Durably;
using Durably.Journal;
using Durably.Storage;

namespace AgentDemo;

// Writes what the runtime does: one JSON object per line (--events json) or a readable transcript.
internal sealed class Events(bool json) : RunObserver
{
    private readonly Lock _gate = new();

    public static string StepName(int step) => step >= 1 && step <= ResearchAgent.StepNames.Length ? ResearchAgent.StepNames[step - 1] : $"step {step}";

    public void Write(string kind, JsonObject fields, string text)
    {
        lock (_gate)
        {
            if (json)
            {
                fields["event"] = kind;
                Console.Out.WriteLine(fields.ToJsonString());
            }
            else
            {
                Console.Out.WriteLine(text);
            }

            Console.Out.Flush();
        }
    }

    public override void OnRunActivated(RunId runId, string workflow, bool resumed)
        => Write("run.started", new JsonObject { ["run"] = runId.Value, ["resumed"] = resumed }, resumed ? $"run {runId}: resumed from its journal" : $"run {runId}: started");

    public override void OnStepStarting(RunId runId, StepInfo step)
        => Write("step.started", Step(step), $"  step {step.Step,2}  {StepName(step.Step),-26} running...");

    public override void OnStepCompleted(RunId runId, StepInfo step, TimeSpan duration, TokenUsage? usage, bool failed)
    {
        var fields = Step(step);
        fields["ms"] = Math.Round(duration.TotalMilliseconds, 1);
        fields["failed"] = failed;
        AddUsage(fields, usage);
        Write("step.completed", fields, $"  step {step.Step,2}  {StepName(step.Step),-26} {(failed ? "failed" : "done")} ({duration.TotalMilliseconds:0} ms{Tokens(usage)})");
    }

    public override void OnStepReplayed(RunId runId, StepInfo step, TokenUsage? usage)
    {
        var fields = Step(step);
        AddUsage(fields, usage);
        Write("step.replayed", fields, $"  step {step.Step,2}  {StepName(step.Step),-26} replayed from the journal{Tokens(usage)}");
    }

    public override void OnRunSuspended(RunId runId, string detail, DateTimeOffset? wakeAt)
        => Write("run.suspended", new JsonObject { ["run"] = runId.Value, ["detail"] = detail, ["wake_at"] = wakeAt?.ToString("O") }, $"run {runId}: suspended ({detail})");

    public override void OnRunFinished(RunId runId, RunStatus status, Payload? result, ErrorInfo? error)
    {
        if (error is not null)
        {
            Write("error", new JsonObject { ["run"] = runId.Value, ["status"] = status.ToString(), ["message"] = error.Message }, $"run {runId}: {status}: {error.Message}");
        }
    }

    private static JsonObject Step(StepInfo step) => new()
    {
        ["step"] = step.Step,
        ["name"] = StepName(step.Step),
        ["kind"] = step.Kind.ToString().ToLowerInvariant(),
        ["attempt"] = step.Attempt,
    };

    private static void AddUsage(JsonObject fields, TokenUsage? usage)
    {
        if (usage is not null)
        {
            fields["tokens_in"] = usage.InputTokens;
            fields["tokens_out"] = usage.OutputTokens;
        }
    }

    private static string Tokens(TokenUsage? usage) => usage is null ? "" : $", {usage.TotalTokens:N0} tokens";

    public static JsonObject? Parse(string line)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
