using System.Text;
using Durably.Journal;

namespace Durably.Tests;

public sealed class JournalSerializerTests
{
    [Fact]
    public void Deserialize_NewerFormatVersion_ThrowsWithBothVersions()
    {
        var json = "{\"type\":\"step.completed\",\"v\":2,\"seq\":1,\"at\":0,\"step\":1}"u8.ToArray();

        var ex = Assert.Throws<JournalFormatException>(() => JournalSerializer.Deserialize(json));

        Assert.Equal(2, ex.FormatVersion);
        Assert.Contains("format version 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Upgrade", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deserialize_UnknownEntryTypeFromNewerVersion_ThrowsNewerVersion()
    {
        var ex = Assert.Throws<JournalFormatException>(() => JournalSerializer.Deserialize("{\"type\":\"step.teleported\",\"v\":3,\"seq\":1,\"at\":0}"u8));
        Assert.Equal(3, ex.FormatVersion);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"type\":\"nope\",\"v\":1}")]
    [InlineData("null")]
    [InlineData("{\"type\":\"step.completed\",\"v\":1,\"seq\":\"x\"}")]
    public void Deserialize_Malformed_ThrowsJournalFormatException(string json)
    {
        var ex = Assert.Throws<JournalFormatException>(() => JournalSerializer.Deserialize(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(0, ex.FormatVersion);
    }

    [Fact]
    public void Serialize_PayloadThatLooksLikeAnEnvelope_RoundTripsUnchanged()
    {
        var tricky = Payload.FromJson("{\"$durably\":\"gzip\",\"b64\":\"AAAA\"}");
        var entry = new StepCompleted { Sequence = 1, Step = 1, Result = tricky };

        var back = (StepCompleted)JournalSerializer.Deserialize(JournalSerializer.Serialize(entry));

        Assert.Equal("json", back.Result!.Encoding);
        Assert.Equal(tricky.ToJsonString(), back.Result.ToJsonString());
    }

    [Fact]
    public void Serialize_TrivialCompletedStep_StaysSmall()
    {
        // Journal size per step is a feature: keep a trivial step's outcome entry compact.
        var entry = new StepCompleted { Sequence = 12, Timestamp = DateTimeOffset.UnixEpoch.AddYears(57), Step = 6, Result = Payload.FromJson("6"), DurationMs = 0.01 };
        Assert.True(JournalSerializer.Serialize(entry).Length < 100, Encoding.UTF8.GetString(JournalSerializer.Serialize(entry)));
    }

    [Fact]
    public void Serialize_ChildRunLinks_WriteTheDocumentedFieldsAndRoundTrip()
    {
        var parent = new RunId("lead-1");
        var child = RunId.ForChild(parent, 2);
        JournalEntry[] entries =
        [
            new RunStarted { Workflow = "sub-agent", ParentRunId = parent, ParentStep = 2 },
            new StepStarted { Sequence = 1, Step = 2, Kind = StepKind.Child, Name = "sub-agent", ChildRunId = child },
            new StepFailed { Sequence = 2, Step = 2, Error = new ErrorInfo("System.OperationCanceledException", "off topic"), ChildStatus = Durably.Storage.RunStatus.Cancelled },
        ];

        var json = entries.Select(e => Encoding.UTF8.GetString(JournalSerializer.Serialize(e))).ToList();

        Assert.Contains("\"parent\":\"lead-1\",\"pstep\":2", json[0], StringComparison.Ordinal);
        Assert.Contains("\"kind\":\"child\"", json[1], StringComparison.Ordinal);
        Assert.Contains("\"child\":\"lead-1:c2\"", json[1], StringComparison.Ordinal);
        Assert.Contains("\"child\":\"cancelled\"", json[2], StringComparison.Ordinal);
        Assert.Equal(entries, json.Select(j => JournalSerializer.Deserialize(Encoding.UTF8.GetBytes(j))));
    }
}
