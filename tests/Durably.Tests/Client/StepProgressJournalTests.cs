using System.Text;
using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Tests.Client;

// Step progress is informational: old readers' folds, the verifier and timelines read journals that hold it, and its wire
// format is fixed by a checked-in file that is never regenerated.
public sealed class StepProgressJournalTests
{
    private static string[] Lines() => File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Golden", "step-progress-v1.jsonl"));

    private static List<JournalEntry> Entries() => [.. Lines().Select(l => JournalSerializer.Deserialize(Encoding.UTF8.GetBytes(l)))];

    [Fact]
    public void Deserialize_GoldenProgressJournal_ReadsProgressAsWrittenAndWritesTheSameBytes()
    {
        var entries = Entries();
        var progress = entries.OfType<StepProgress>().ToList();
        Assert.Equal([(2L, 1, "Once upon "), (3L, 1, "a time, a keeper\n")], progress.Select(p => (p.Sequence, p.Step, p.Text)));
        foreach (var line in Lines())
        {
            Assert.Equal(line, Encoding.UTF8.GetString(JournalSerializer.Serialize(JournalSerializer.Deserialize(Encoding.UTF8.GetBytes(line)))));
        }
    }

    [Fact]
    public void FromJournal_ProgressEntries_AreIgnoredByTheFold()
    {
        var history = RunHistory.FromJournal(Entries());

        var step = Assert.Single(history.Steps);
        Assert.True(step.HasOutcome);
        Assert.Equal("{\"text\":\"Once upon a time, a keeper\\nlit the lamp.\"}", step.Completion!.Result!.ToJsonString());
        Assert.Equal(6, history.NextSequence);
        Assert.True(history.IsFinished);
    }

    [Fact]
    public async Task VerifyAndTimeline_JournalWithProgress_AreSoundAndShowTheStepOnce()
    {
        await using var store = new InMemoryJournalStore();
        var runId = new RunId("progress-run");
        var entries = Entries();
        await store.AppendAsync([new RunAppend(runId, 0, entries) { Status = RunStatus.Completed }]);

        var report = await JournalVerifier.VerifyAsync(store);
        var timeline = await RunTimeline.LoadAsync(store, runId);

        Assert.True(report.IsSound, string.Join("; ", report.Problems.Select(p => p.Message)));
        var step = Assert.Single(timeline.Steps);
        Assert.Equal(("chat", StepState.Completed), (step.Name, step.State));
    }

    [Fact]
    public async Task Export_JournalWithProgress_WritesEveryEntry()
    {
        await using var store = new InMemoryJournalStore();
        var runId = new RunId("progress-export");
        await store.AppendAsync([new RunAppend(runId, 0, Entries()) { Status = RunStatus.Completed }]);
        using var output = new MemoryStream();

        await JournalExport.ExportAsync(store, runId, output);

        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.Equal(2, text.Split('\n').Count(l => l.Contains("\"step.progress\"", StringComparison.Ordinal)));
    }
}
