using System.Text;
using Durably.Journal;

namespace Durably.Tests;

// Journals written by version 1 must read the same forever: these files are checked in and never regenerated.
public sealed class GoldenJournalTests
{
    private static string[] Lines() => File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Golden", "journal-v1.jsonl"));

    [Fact]
    public void Deserialize_GoldenV1Journal_ReadsEveryFieldAsWritten()
    {
        var entries = Lines().Select(l => JournalSerializer.Deserialize(Encoding.UTF8.GetBytes(l))).ToArray();

        Assert.Equal(Enumerable.Range(0, 14).Select(i => (long)i).Append(0), entries.Select(e => e.Sequence));
        var started = Assert.IsType<RunStarted>(entries[0]);
        Assert.Equal(("research-agent", 2, "{\"topic\":\"write-ahead logging\"}"), (started.Workflow, started.WorkflowVersion, started.Input!.ToJsonString()));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1767225600000), started.Timestamp);
        var plan = Assert.IsType<StepStarted>(entries[1]);
        Assert.Equal((1, StepKind.Model, "plan", "golden-run:1", 1), (plan.Step, plan.Kind, plan.Name, plan.IdempotencyKey, plan.Attempt));
        var planned = Assert.IsType<StepCompleted>(entries[2]);
        Assert.Equal(new TokenUsage(812, 144), planned.Usage);
        Assert.Equal(1190.5, planned.DurationMs);
        var effect = Assert.IsType<StepStarted>(entries[3]);
        Assert.Equal((StepKind.Effect, InDoubtPolicy.AskHuman, "9f86d081"), (effect.Kind, effect.InDoubt, effect.ArgumentHash));
        var failed = Assert.IsType<StepFailed>(entries[4]);
        Assert.Equal(("System.Net.Http.HttpRequestException", "503 Service Unavailable"), (failed.Error.Type, failed.Error.Message));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1767225603300), failed.RetryAt);
        var resolved = Assert.IsType<StepCompleted>(entries[5]);
        Assert.Equal(("\"sent\"", 2, "ana"), (resolved.Result!.ToJsonString(), resolved.Attempt, resolved.ResolvedBy));
        var signal = Assert.IsType<SignalReceived>(entries[6]);
        Assert.Equal(("approval:publish", "ana", 4L, false), (signal.Name, signal.Sender, signal.SignalId, signal.TimedOut));
        var timer = Assert.IsType<TimerStarted>(entries[7]);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1767229300010), timer.DueAt);
        Assert.Equal(4, Assert.IsType<TimerFired>(entries[8]).Step);
        var encoded = Assert.IsType<StepCompleted>(entries[9]).Result!;
        Assert.Equal("gzip", encoded.Encoding);
        Assert.Equal(Convert.FromBase64String("H4sIAAAAAAAA"), encoded.Data.ToArray());
        Assert.Equal("{\"report\":\"ok\"}", Assert.IsType<RunCompleted>(entries[10]).Result!.ToJsonString());
        Assert.Equal("Durably.NonDeterminismException", Assert.IsType<RunFailed>(entries[11]).Error.Type);
        Assert.Equal("operator", Assert.IsType<RunCancelled>(entries[12]).Reason);
        var resumed = Assert.IsType<RunResumed>(entries[13]);
        Assert.Equal((9, "host-a:42", 3L), (resumed.ReplayedSteps, resumed.Worker, resumed.LeaseEpoch));
        var forked = Assert.IsType<RunStarted>(entries[14]);
        Assert.Equal(["new-search"], forked.Patches!);
        Assert.Equal((new RunId("golden-run"), 4, true, false), (forked.Fork!.Source, forked.Fork.AtStep, forked.Fork.ReuseModelOutputs, forked.Fork.DryRun));
    }

    [Fact]
    public void Serialize_GoldenV1Entries_WritesTheSameBytes()
    {
        // Reading and writing again must give the file back byte for byte: the wire format has not drifted.
        foreach (var line in Lines())
        {
            var entry = JournalSerializer.Deserialize(Encoding.UTF8.GetBytes(line));
            Assert.Equal(line, Encoding.UTF8.GetString(JournalSerializer.Serialize(entry)));
        }
    }
}
