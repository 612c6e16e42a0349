using Durably.Journal;
using Durably.Storage;
using Xunit;

namespace Durably.Testing;

// The store contract for appending: sequences, conflicts, atomic calls across runs, limits, concurrency.
public abstract partial class JournalStoreComplianceTests
{
#pragma warning disable CS1591
    [Fact]
    public async Task Append_EveryEntryKind_ReadsBackEqualAndInOrder()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        JournalEntry[] entries =
        [
            new RunStarted { Sequence = 0, Timestamp = Ms(1), Workflow = "research", WorkflowVersion = 3, Input = Payload.FromJson("{\"topic\":\"wal\"}"), ParentRunId = new RunId("parent-1") },
            new StepStarted { Sequence = 1, Timestamp = Ms(2), Step = 1, Kind = StepKind.Effect, Name = "send-email", IdempotencyKey = $"{id}:1", ArgumentHash = "abc", Attempt = 1, InDoubt = InDoubtPolicy.Reconcile },
            new StepFailed { Sequence = 2, Timestamp = Ms(3), Step = 1, Error = new ErrorInfo("System.TimeoutException", "slow") { Detail = "at x" }, Attempt = 1, RetryAt = Ms(1000), DurationMs = 12.5 },
            new StepCompleted { Sequence = 3, Timestamp = Ms(4), Step = 1, Result = Payload.FromJson("[1,2,3]"), Attempt = 2, DurationMs = 1.25, Usage = new TokenUsage(120, 30), ResolvedBy = "ana" },
            new SignalReceived { Sequence = 4, Timestamp = Ms(5), Step = 2, Name = "approval", Payload = Payload.FromJson("true"), Sender = "bob", SignalId = 7 },
            new SignalReceived { Sequence = 5, Timestamp = Ms(6), Step = 3, Name = "late", TimedOut = true },
            new TimerStarted { Sequence = 6, Timestamp = Ms(7), Step = 4, DueAt = Ms(60_000), Name = "cool-off" },
            new TimerFired { Sequence = 7, Timestamp = Ms(8), Step = 4 },
            new RunFailed { Sequence = 8, Timestamp = Ms(9), Error = new ErrorInfo("X", "y") },
        ];
        await store.AppendAsync(new RunAppend(id, 0, entries[..2]));
        await store.AppendAsync(new RunAppend(id, 2, entries[2..]));

        var read = await store.ReadAsync(id);

        Assert.Equal(entries, read);
        Assert.Equal(entries[5..], await store.ReadAsync(id, 5));
        Assert.Empty(await store.ReadAsync(id, 100));
        var other = NewId();
        await store.AppendAsync(new RunAppend(other, 0, [new RunStarted { Sequence = 0, Timestamp = Ms(1), Workflow = "w" }, new RunCancelled { Sequence = 1, Timestamp = Ms(2), Reason = "user" }, new RunCompleted { Sequence = 2, Timestamp = Ms(3), Result = Payload.FromJson("\"done\"") }]));
        Assert.Equal(3, (await store.ReadAsync(other)).Count);
    }

    [Fact]
    public async Task Append_SameSequenceTwice_SecondThrowsConcurrencyAndKeepsFirst()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        await store.AppendAsync(Start(id));
        await store.AppendAsync(Steps(id, 1));

        var second = new RunAppend(id, 1, [new StepCompleted { Sequence = 1, Timestamp = Ms(9), Step = 99, Result = Payload.FromJson("\"intruder\"") }]);
        var ex = await Assert.ThrowsAsync<JournalConcurrencyException>(() => store.AppendAsync(second).AsTask());

        Assert.Equal(1, ex.ExpectedSequence);
        Assert.Equal(2, ex.ActualSequence);
        var entries = await store.ReadAsync(id);
        Assert.Equal(2, entries.Count);
        Assert.Equal(1, ((StepCompleted)entries[1]).Step);
    }

    [Fact]
    public async Task Append_AheadOfJournal_ThrowsConcurrency()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        await store.AppendAsync(Start(id));

        await Assert.ThrowsAsync<JournalConcurrencyException>(() => store.AppendAsync(Steps(id, 5)).AsTask());
        Assert.Single(await store.ReadAsync(id));
    }

    [Fact]
    public async Task Append_StartExistingRunId_ThrowsConcurrencyAndKeepsOriginal()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        await store.AppendAsync(Start(id, "first"));

        await Assert.ThrowsAsync<JournalConcurrencyException>(() => store.AppendAsync(Start(id, "second")).AsTask());

        var run = await store.GetRunAsync(id);
        Assert.Equal("first", run!.Workflow);
        Assert.Equal("first", ((RunStarted)(await store.ReadAsync(id))[0]).Workflow);
    }

    [Fact]
    public async Task Append_UnknownRun_ThrowsRunNotFound()
    {
        await using var store = await CreateStoreAsync();

        await Assert.ThrowsAsync<RunNotFoundException>(() => store.AppendAsync(Steps(new RunId("missing"), 1)).AsTask());
        await Assert.ThrowsAsync<RunNotFoundException>(() => store.ReadAsync(new RunId("missing")));
        Assert.Null(await store.GetRunAsync(new RunId("missing")));
    }

    [Fact]
    public async Task Append_SeveralRunsOneConflicting_WritesNothing()
    {
        await using var store = await CreateStoreAsync();
        var a = NewId("a");
        var b = NewId("b");
        await store.AppendAsync(Start(a));
        await store.AppendAsync(Start(b));
        await store.AppendAsync(Steps(b, 1));

        // a's part is fine, b's part conflicts: the whole call must fail.
        await Assert.ThrowsAsync<JournalConcurrencyException>(() => store.AppendAsync([Steps(a, 1), Steps(b, 1)]).AsTask());

        Assert.Single(await store.ReadAsync(a));
        Assert.Equal(1, (await store.GetRunAsync(a))!.NextSequence);

        await store.AppendAsync([Steps(a, 1), Steps(b, 2)]);
        Assert.Equal(2, (await store.ReadAsync(a)).Count);
        Assert.Equal(3, (await store.ReadAsync(b)).Count);
    }

    [Fact]
    public async Task Append_MalformedShape_ThrowsArgumentAndWritesNothing()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        await store.AppendAsync(Start(id));

        var gap = new RunAppend(id, 1, [new TimerFired { Sequence = 2, Timestamp = Ms(1), Step = 1 }]);
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(gap).AsTask());
        var noStart = new RunAppend(NewId(), 0, [new TimerFired { Sequence = 0, Timestamp = Ms(1), Step = 1 }]);
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(noStart).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync([]).AsTask());

        Assert.Single(await store.ReadAsync(id));
    }

    [Fact]
    public async Task Append_StatusChange_IsIndexedWithWakeTime()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        await store.AppendAsync(Start(id, status: RunStatus.Running));
        Assert.Equal(RunStatus.Running, (await store.GetRunAsync(id))!.Status);

        var wake = Ms(90_000);
        await store.AppendAsync(new RunAppend(id, 1, [new TimerStarted { Sequence = 1, Timestamp = Ms(1), Step = 1, DueAt = wake }]) { Status = RunStatus.Suspended, WakeAt = wake, StatusDetail = "timer" });

        var run = await store.GetRunAsync(id);
        Assert.Equal(RunStatus.Suspended, run!.Status);
        Assert.Equal(wake, run.WakeAt);
        Assert.Equal("timer", run.StatusDetail);
        Assert.Equal(2, run.NextSequence);
        Assert.Equal("test", run.Workflow);

        await store.AppendAsync(new RunAppend(id, 2, [new RunCompleted { Sequence = 2, Timestamp = Ms(2) }]) { Status = RunStatus.Completed });
        run = await store.GetRunAsync(id);
        Assert.Equal(RunStatus.Completed, run!.Status);
        Assert.Null(run.WakeAt);
    }

    [Fact]
    public async Task Append_LargeAndEmptyPayloads_RoundTripExactly()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        var big = Payload.FromJson("\"" + new string('x', 1024 * 1024) + "\"");
        Payload[] payloads = [big, Payload.FromJson("\"\""), Payload.FromJson("{}"), Payload.FromJson("[]"), Payload.FromJson("null"), Payload.FromJson("0"), Payload.FromJson("\"a\\u0000b\\ud800\""), Payload.FromJson("{\"$durably\":\"json\"}"), new Payload("gzip", [0, 1, 2, 255])];
        await store.AppendAsync(Start(id));
        var entries = payloads.Select((p, i) => (JournalEntry)new StepCompleted { Sequence = i + 1, Timestamp = Ms(i), Step = i + 1, Result = p }).ToList();
        entries.Add(new StepCompleted { Sequence = entries.Count + 1, Timestamp = Ms(99), Step = 99, Result = null });
        await store.AppendAsync(new RunAppend(id, 1, entries));

        var read = await store.ReadAsync(id, 1);

        Assert.Equal(entries, read);
    }

    [Fact]
    public async Task Append_EntryOverLimit_ThrowsBeforeWritingAnything()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        await store.AppendAsync(Start(id));
        var huge = Payload.FromJson("\"" + new string('y', StoreLimits.DefaultMaxEntryBytes + 10) + "\"");

        var ex = await Assert.ThrowsAsync<PayloadTooLargeException>(() => store.AppendAsync(new RunAppend(id, 1, [new StepCompleted { Sequence = 1, Timestamp = Ms(1), Step = 1, Result = huge }])).AsTask());

        Assert.True(ex.Size > ex.Limit);
        Assert.Equal(1, (await store.GetRunAsync(id))!.NextSequence);
        await store.AppendAsync(Steps(id, 1));
    }

    [Fact]
    public async Task Append_ManyRuns_AllReadBack()
    {
        await using var store = await CreateStoreAsync();
        var ids = Enumerable.Range(0, 300).Select(i => new RunId($"many-{i}-{Guid.NewGuid():N}")).ToArray();
        foreach (var chunk in ids.Chunk(50))
        {
            await store.AppendAsync([.. chunk.Select(id => Start(id))]);
            await store.AppendAsync([.. chunk.Select(id => Steps(id, 1, 3))]);
        }

        foreach (var id in ids)
        {
            var entries = await store.ReadAsync(id);
            Assert.Equal([0L, 1, 2, 3], entries.Select(e => e.Sequence));
        }
    }

    [Fact]
    public async Task Append_ConcurrentAppenders_EachSequenceWrittenOnceAndContiguous()
    {
        await using var store = await CreateStoreAsync();
        var ids = Enumerable.Range(0, 32).Select(_ => NewId("c")).ToArray();

        // 32 runs appended to concurrently, each by its own sequential writer.
        await Task.WhenAll(ids.Select(async id =>
        {
            await store.AppendAsync(Start(id));
            for (var seq = 1; seq <= 40; seq++)
            {
                await store.AppendAsync(Steps(id, seq));
            }
        }));

        // 8 writers racing for the same sequences of one run: exactly one wins each.
        var contested = NewId("contested");
        await store.AppendAsync(Start(contested));
        var wins = 0;
        var conflicts = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            for (var attempt = 0; attempt < 200; attempt++)
            {
                var run = await store.GetRunAsync(contested);
                if (run!.NextSequence > 30)
                {
                    return;
                }

                var append = new RunAppend(contested, run.NextSequence, [new StepCompleted { Sequence = run.NextSequence, Timestamp = Ms(writer), Step = writer, Result = Payload.FromJson($"{writer}") }]);
                try
                {
                    await store.AppendAsync(append);
                    Interlocked.Increment(ref wins);
                }
                catch (JournalConcurrencyException)
                {
                    Interlocked.Increment(ref conflicts);
                }
            }
        })));

        foreach (var id in ids)
        {
            Assert.Equal(Enumerable.Range(0, 41).Select(i => (long)i), (await store.ReadAsync(id)).Select(e => e.Sequence));
        }

        var contestedEntries = await store.ReadAsync(contested);
        Assert.Equal(Enumerable.Range(0, contestedEntries.Count).Select(i => (long)i), contestedEntries.Select(e => e.Sequence));
        Assert.Equal(contestedEntries.Count - 1, wins);
    }
#pragma warning restore CS1591
}
