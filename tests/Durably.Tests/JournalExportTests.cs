using System.Text;
using Durably.Journal;

namespace Durably.Tests;

public sealed class JournalExportTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static List<JournalEntry> Journal(string workflow) =>
    [
        new RunStarted { Sequence = 0, Timestamp = At, Workflow = workflow, Input = Payload.FromJson("{\"n\":1}") },
        new StepStarted { Sequence = 1, Timestamp = At, Step = 1, Kind = StepKind.Effect, Name = "send", IdempotencyKey = "a:1" },
        new StepCompleted { Sequence = 2, Timestamp = At, Step = 1, Result = new Payload("aesgcm:k1", [1, 2, 0, 3]) },
        new RunCompleted { Sequence = 3, Timestamp = At, Result = Payload.FromJson("\"done\"") },
    ];

    [Fact]
    public async Task WriteAsync_ThenReadAsync_RoundTripsTheEntriesOfSeveralRuns()
    {
        using var stream = new MemoryStream();
        await JournalExport.WriteAsync(stream, new RunId("run-a"), Journal("first"));
        await JournalExport.WriteAsync(stream, new RunId("run-b"), Journal("second"));
        stream.Position = 0;

        var runs = await JournalExport.ReadAsync(stream);

        Assert.Equal(["run-a", "run-b"], runs.Select(r => r.RunId.Value));
        Assert.Equal(Journal("first"), runs[0].Entries);
        Assert.Equal("second", ((RunStarted)runs[1].Entries[0]).Workflow);
    }

    [Fact]
    public async Task WriteAsync_EachLine_IsTheSerializedEntryWithTheRunInFront()
    {
        using var stream = new MemoryStream();
        var entries = Journal("first");
        await JournalExport.WriteAsync(stream, new RunId("run-a"), entries);

        var lines = Encoding.UTF8.GetString(stream.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(4, lines.Length);
        Assert.StartsWith("{\"run\":\"run-a\",\"type\":\"run.started\"", lines[0], StringComparison.Ordinal);
        Assert.Equal(entries, lines.Select(l => JournalSerializer.Deserialize(Encoding.UTF8.GetBytes(l))));
    }

    [Fact]
    public async Task ReadAsync_LinesWithoutRun_TakeTheGivenRunIdOrFailNamingTheLine()
    {
        var text = "\n" + string.Join("\n", Journal("w").Select(e => Encoding.UTF8.GetString(JournalSerializer.Serialize(e)))) + "\n\n";

        var runs = await JournalExport.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), new RunId("given"));
        var ex = await Assert.ThrowsAsync<JournalFormatException>(() => JournalExport.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(text))));

        Assert.Equal("given", Assert.Single(runs).RunId.Value);
        Assert.StartsWith("Line 2 has no \"run\" property", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"run\":\"r\",\"type\":\"run.started\",\"v\":1,\"seq\":0,\"at\":0,\"workflow\":\"w\"}\n{\"run\":\"r\",\"type\":\"step.completed\",\"v\":1,\"seq\":2,\"at\":0,\"step\":1}", "Line 2: entry 2 of run 'r' follows 1 entries")]
    [InlineData("{\"run\":\"r\",\"type\":\"run.started\",\"v\":1,\"seq\":0,\"at\":0,\"workflow\":\"w\"}\nnot json", "Line 2:")]
    [InlineData("{\"run\":\"../../etc\",\"type\":\"run.started\",\"v\":1,\"seq\":0,\"at\":0,\"workflow\":\"w\"}", "Line 1: The \"run\" property is not a valid run id")]
    public async Task ReadAsync_DamagedExport_ThrowsJournalFormatExceptionNamingTheLine(string text, string expected)
    {
        var ex = await Assert.ThrowsAsync<JournalFormatException>(() => JournalExport.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(text))));

        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
    }
}
