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

// Serialize writes the discriminator itself and each entry with its own contract (no polymorphic serializer stack per
// entry): its bytes must be exactly those of the serializer's polymorphic contract, for every entry type and value.
public sealed class JournalSerializerFastPathTests
{
    public static TheoryData<string> Entries()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_796_308_395_312);
        var tricky = "naïve <b>&'\"\\ \u2028 日本 \U0001F600 +";
        var big = Payload.FromJson("\"" + new string('x', 100_000) + "\"");
        var entries = new List<JournalEntry>
        {
            new RunStarted { Timestamp = now, Workflow = "flow" },
            new RunStarted { Sequence = 0, Timestamp = now, Workflow = tricky, WorkflowVersion = 3, Input = Payload.FromJson("{\"a\":[1,2,{\"b\":null}]}"), Patches = ["p1", tricky], Fork = new ForkInfo(new RunId("src"), 4) { ReuseModelOutputs = true, DryRun = true }, ParentRunId = new RunId("parent") },
            new StepStarted { Sequence = 5, Timestamp = now, Step = 3, Kind = StepKind.Compute, Name = "step" },
            new StepStarted { Sequence = 6, Timestamp = now, Step = 4, Kind = StepKind.Effect, Name = tricky, IdempotencyKey = "run:4", ArgumentHash = "abc", Attempt = 2, InDoubt = InDoubtPolicy.Retry },
            new StepCompleted { Sequence = 7, Timestamp = now, Step = 4, Result = Payload.FromJson("2"), DurationMs = 0.005 },
            new StepCompleted { Sequence = 8, Timestamp = now, Step = 5, Result = big, Attempt = 3, DurationMs = 1234.5678, Usage = new TokenUsage(10, 20), Span = 7, ResolvedBy = tricky },
            new StepCompleted { Sequence = 9, Timestamp = now, Step = 6 },
            new StepFailed { Sequence = 10, Timestamp = now, Step = 6, Error = new ErrorInfo("System.Exception", tricky), RetryAt = now.AddSeconds(5), DurationMs = 3 },
            new SignalReceived { Sequence = 11, Timestamp = now, Step = 7, Name = "go", Payload = Payload.FromJson("true"), Sender = tricky, SignalId = 42 },
            new SignalReceived { Sequence = 12, Timestamp = now, Step = 8, Name = "late", TimedOut = true },
            new TimerStarted { Sequence = 13, Timestamp = now, Step = 9, DueAt = now.AddDays(3), Name = "sleep" },
            new TimerFired { Sequence = 14, Timestamp = now, Step = 9 },
            new RunCompleted { Sequence = 15, Timestamp = now, Result = Payload.FromJson("{\"ok\":true}") },
            new RunFailed { Sequence = 16, Timestamp = now, Error = new ErrorInfo("X", "y") },
            new RunCancelled { Sequence = 17, Timestamp = now, Reason = tricky },
            new RunResumed { Sequence = 18, Timestamp = now, ReplayedSteps = 9, Worker = "w", LeaseEpoch = 12 },
        };
        var golden = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Golden", "journal-v1.jsonl"))
            .Concat(File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Golden", "support-agent-in-flight.jsonl")))
            .Where(l => l.Length > 0)
            .Select(l => JournalSerializer.Deserialize(System.Text.Encoding.UTF8.GetBytes(l)));
        var data = new TheoryData<string>();
        foreach (var encoded in entries.Concat(golden).Select(e => Convert.ToBase64String(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(e, JournalJsonContext.Default.JournalEntry))).Distinct(StringComparer.Ordinal))
        {
            data.Add(encoded);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Serialize_AnyEntry_SameBytesAsThePolymorphicContract(string expectedBase64)
    {
        var expected = Convert.FromBase64String(expectedBase64);
        var entry = JournalSerializer.Deserialize(expected);

        // Twice: the second call reuses the thread's buffer and writer.
        Assert.Equal(System.Text.Encoding.UTF8.GetString(expected), System.Text.Encoding.UTF8.GetString(JournalSerializer.Serialize(entry)));
        Assert.Equal(expected, JournalSerializer.Serialize(entry));
    }

    [Fact]
    public void Serialize_EntriesOfEveryTypeFromManyThreads_EachGetsItsOwnBytes()
    {
        var entries = Enumerable.Range(0, 2000).Select(i => (JournalEntry)new StepCompleted { Sequence = i, Step = i, Result = Payload.FromJson($"\"{new string('a', i % 300)}\"") }).ToArray();
        var results = new byte[entries.Length][];
        Parallel.For(0, entries.Length, i => results[i] = JournalSerializer.Serialize(entries[i]));
        for (var i = 0; i < entries.Length; i++)
        {
            Assert.Equal(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(entries[i], JournalJsonContext.Default.JournalEntry), results[i]);
        }
    }
}

// A scalar payload is read as its token's text without a JSON document: the bytes must be those the document gives.
public sealed class PayloadScalarReadTests
{
    [Theory]
    [InlineData("2")]
    [InlineData("-12.5e+3")]
    [InlineData("true")]
    [InlineData("false")]
    [InlineData("\"plain\"")]
    [InlineData("\"esc\\u00e9\\n\\\"q\\\" \\ud83d\\ude00\"")]
    [InlineData("\"\"")]
    [InlineData("\"na\u00efve \u65e5\u672c\"")]
    [InlineData("{\"a\":[1,2]}")]
    [InlineData("[\"x\",null]")]
    public void Deserialize_ResultPayload_KeepsTheExactJsonText(string json)
    {
        var entry = System.Text.Encoding.UTF8.GetBytes($"{{\"type\":\"step.completed\",\"v\":1,\"seq\":2,\"at\":0,\"step\":1,\"res\":{json},\"att\":1}}");

        var read = (StepCompleted)JournalSerializer.Deserialize(entry);

        Assert.Equal(json, read.Result!.ToJsonString());
        Assert.Equal(entry, JournalSerializer.Serialize(read));
    }
}

// Step entries are read by a reader of their own when they look as written; it must return what the serializer's
// contract returns, or give the entry to the contract (which then reports any error): checked on every entry type,
// the golden journals, and damaged or unusual spellings of step entries.
public sealed class StepEntryReaderTests
{
    public static TheoryData<string> Inputs()
    {
        var data = new TheoryData<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in JournalSerializerFastPathTests.Entries())
        {
            if (seen.Add(row))
            {
                data.Add(row);
            }
        }

        string[] variants =
        [
            "{\"type\":\"step.started\",\"v\":1,\"seq\":5,\"at\":1796308395312,\"step\":3,\"kind\":\"compute\",\"name\":\"step\",\"att\":1}",
            "{\"type\":\"step.started\",\"v\":1,\"seq\":5,\"at\":1796308395312,\"step\":3,\"kind\":\"Compute\",\"name\":\"step\"}",
            "{\"type\":\"step.started\",\"v\":1,\"seq\":5,\"at\":0,\"step\":3,\"kind\":\"effect\",\"name\":\"a\\u00e9\\n\",\"key\":null,\"hash\":\"h\",\"indoubt\":\"retry\"}",
            "{\"type\":\"step.started\",\"v\":1,\"seq\":5,\"at\":0,\"kind\":\"compute\",\"name\":\"no step number\"}",
            "{\"type\":\"step.started\",\"v\":1,\"seq\":5,\"at\":0,\"step\":3,\"name\":\"no kind\"}",
            "{\"type\":\"step.started\",\"v\":1,\"seq\":5,\"at\":0,\"step\":3,\"kind\":\"compute\",\"name\":null}",
            "{\"type\":\"step.started\",\"v\":1,\"seq\":5,\"at\":0,\"step\":3,\"kind\":\"compute\",\"name\":\"x\",\"name\":\"y\"}",
            "{\"type\":\"step.started\",\"v\":1,\"seq\":5,\"at\":0,\"step\":3,\"kind\":\"compute\",\"name\":\"x\",\"extra\":1}",
            "{\"type\":\"step.started\",\"v\":1,\"seq\":5,\"at\":0,\"step\":3,\"kind\":\"teleport\",\"name\":\"x\"}",
            "{\"type\":\"step.started\",\"v\":1,\"seq\":5,\"at\":0,\"step\":3,\"kind\":1,\"name\":\"x\"}",
            "{\"v\":1,\"type\":\"step.started\",\"seq\":5,\"at\":0,\"step\":3,\"kind\":\"compute\",\"name\":\"x\"}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":1796308395312,\"step\":3,\"res\":2,\"att\":1,\"ms\":0.005}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":3,\"res\":\"t\\\"x\\u00e9\",\"ms\":null,\"span\":4,\"by\":\"me\"}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":3,\"res\":null}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":3,\"res\":{\"a\":1}}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":3,\"res\":[1]}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":3,\"usage\":{\"in\":1,\"out\":2}}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"res\":1}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":3.5}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":\"3\"}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":99999999999}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":99999999999999999,\"step\":1}",
            "{\"type\":\"step.completed\",\"v\":2,\"seq\":6,\"at\":0,\"step\":1}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":1} ",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":1}x",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":1,}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":1",
            "{\"t\\u0079pe\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":1}",
            "{\"type\":\"step.complet\\u0065d\",\"v\":1,\"seq\":6,\"at\":0,\"step\":1}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"st\\u0065p\":1}",
            "{\"type\":\"step.completed\",\"v\":1,\"seq\":6,\"at\":0,\"step\":1,\"step\":2}",
            "[]",
            "\"step.completed\"",
        ];
        foreach (var variant in variants)
        {
            var encoded = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(variant));
            if (seen.Add(encoded))
            {
                data.Add(encoded);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void TryRead_AnyInput_SameEntryAsTheContractOrNone(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        var fast = StepEntryReader.TryRead(bytes);
        JournalEntry? contract;
        try
        {
            contract = System.Text.Json.JsonSerializer.Deserialize(bytes, JournalJsonContext.Default.JournalEntry);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            Assert.Null(fast);
            return;
        }

        if (fast is not null)
        {
            Assert.NotNull(contract);
            Assert.Equal(contract.GetType(), fast.GetType());
            Assert.Equal(JournalSerializer.Serialize(contract), JournalSerializer.Serialize(fast));
        }
    }

    [Fact]
    public void TryRead_EntriesAsTheWriterWritesThem_TakesTheFastPath()
    {
        var started = new StepStarted { Sequence = 5, Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1), Step = 3, Kind = StepKind.Effect, Name = "send", IdempotencyKey = "r:3", InDoubt = InDoubtPolicy.Retry };
        var completed = new StepCompleted { Sequence = 6, Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1), Step = 3, Result = Payload.FromJson("\"ok\""), DurationMs = 1.25 };

        Assert.Equal(started, StepEntryReader.TryRead(JournalSerializer.Serialize(started)));
        var read = Assert.IsType<StepCompleted>(StepEntryReader.TryRead(JournalSerializer.Serialize(completed)));
        Assert.Equal("\"ok\"", read.Result!.ToJsonString());
        Assert.Equal(completed with { Result = null }, read with { Result = null });
    }
}
