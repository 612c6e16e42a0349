using System.Text;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Durably.Testing;

/// <summary>Defines the contract every <see cref="IJournalStore"/> must keep; subclass it once per store.</summary>
/// <remarks>
/// Each test creates a fresh, empty store through <see cref="CreateStoreAsync"/>. Stores whose clock
/// can be driven should use <see cref="Clock"/>; stores on a server clock override <see cref="AdvanceClockAsync"/>.
/// </remarks>
public abstract class JournalStoreComplianceTests
{
    /// <summary>Gets a fake clock starting at a fixed instant, for stores that accept a <see cref="TimeProvider"/>.</summary>
    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Creates a fresh, empty store.</summary>
    protected abstract Task<IJournalStore> CreateStoreAsync();

    /// <summary>Moves the store's clock forward (by default <see cref="Clock"/>).</summary>
    protected virtual Task AdvanceClockAsync(TimeSpan by)
    {
        Clock.Advance(by);
        return Task.CompletedTask;
    }

    /// <summary>Builds a new run's first append: a <see cref="RunStarted"/> entry.</summary>
    protected static RunAppend Start(RunId runId, string workflow = "test", RunStatus? status = null)
        => new(runId, 0, [new RunStarted { Sequence = 0, Timestamp = Ms(0), Workflow = workflow, WorkflowVersion = 1, Input = Payload.FromJson("{\"q\":1}") }]) { Status = status };

    /// <summary>Builds <paramref name="count"/> completed-step entries starting at <paramref name="fromSequence"/>.</summary>
    protected static RunAppend Steps(RunId runId, long fromSequence, int count = 1)
        => new(runId, fromSequence, [.. Enumerable.Range(0, count).Select(i => (JournalEntry)new StepCompleted
        {
            Sequence = fromSequence + i,
            Timestamp = Ms(fromSequence + i),
            Step = (int)(fromSequence + i),
            Result = Payload.FromJson($"{fromSequence + i}"),
        })]);

    /// <summary>Returns a millisecond-precision timestamp (the wire precision).</summary>
    protected static DateTimeOffset Ms(long offset) => DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000 + offset);

    private static RunId NewId(string prefix = "r") => new($"{prefix}-{Guid.NewGuid():N}");

    // The test names say what each test checks (Method_Scenario_Expected).
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
    public async Task ListRuns_ByStatusAndWorkflow_PagesThroughEveryMatchOnce()
    {
        await using var store = await CreateStoreAsync();
        var completed = new List<RunId>();
        for (var i = 0; i < 25; i++)
        {
            var id = new RunId($"list-{i:D2}-{Guid.NewGuid():N}");
            var status = i % 3 == 0 ? RunStatus.Completed : RunStatus.Running;
            await store.AppendAsync(Start(id, i % 2 == 0 ? "even" : "odd", status));
            if (status == RunStatus.Completed)
            {
                completed.Add(id);
            }
        }

        var seen = new List<RunId>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await store.ListRunsAsync(new RunQuery { Statuses = [RunStatus.Completed], PageSize = 3, ContinuationToken = token });
            Assert.All(page.Runs, r => Assert.Equal(RunStatus.Completed, r.Status));
            Assert.True(page.Runs.Count <= 3);
            seen.AddRange(page.Runs.Select(r => r.RunId));
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null && pages < 100);

        Assert.Equal(completed.AsEnumerable().Reverse(), seen);
        var oldestFirst = await store.ListRunsAsync(new RunQuery { Statuses = [RunStatus.Completed], NewestFirst = false, PageSize = 100 });
        Assert.Equal(completed, oldestFirst.Runs.Select(r => r.RunId));
        Assert.Null(oldestFirst.ContinuationToken);

        var even = await store.ListRunsAsync(new RunQuery { Workflow = "even", PageSize = 100 });
        Assert.Equal(13, even.Runs.Count);
        var all = await store.ListRunsAsync(new RunQuery { PageSize = 1000 });
        Assert.Equal(25, all.Runs.Count);
        await Assert.ThrowsAsync<ArgumentException>(() => store.ListRunsAsync(new RunQuery { ContinuationToken = "garbage" }));
    }

    [Fact]
    public async Task DeliverSignal_ToWaitingRun_IsReadableInOrderAndWakesRun()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        await store.AppendAsync(Start(id));

        // Far in the future by the store's clock, which may be a server's real clock rather than Clock.
        var farFuture = (await store.GetRunAsync(id))!.UpdatedAt.AddDays(1);
        await store.AppendAsync(new RunAppend(id, 1, [new TimerStarted { Sequence = 1, Timestamp = Ms(1), Step = 1, DueAt = farFuture }]) { Status = RunStatus.Suspended, WakeAt = farFuture, StatusDetail = "signal:approval" });
        Assert.Empty(await store.ClaimRunsAsync(new ClaimRequest { Owner = "w1" }));

        var first = await store.DeliverSignalAsync(id, new SignalMessage("approval", Payload.FromJson("{\"ok\":true}"), "ana"));
        var second = await store.DeliverSignalAsync(id, new SignalMessage("note"));

        Assert.True(second.SignalId > first.SignalId);
        var signals = await store.ReadSignalsAsync(id);
        Assert.Equal(["approval", "note"], signals.Select(s => s.Name));
        Assert.Equal("ana", signals[0].Sender);
        Assert.Equal(Payload.FromJson("{\"ok\":true}"), signals[0].Payload);
        Assert.Null(signals[1].Payload);
        Assert.Equal([second.SignalId], (await store.ReadSignalsAsync(id, first.SignalId)).Select(s => s.SignalId));

        var claimed = await store.ClaimRunsAsync(new ClaimRequest { Owner = "w1" });
        Assert.Equal([id], claimed.Select(l => l.RunId));
    }

    [Fact]
    public async Task DeliverSignal_UnknownOrFinishedRun_ThrowsAndStoresNothing()
    {
        await using var store = await CreateStoreAsync();
        await Assert.ThrowsAsync<RunNotFoundException>(() => store.DeliverSignalAsync(new RunId("nobody"), new SignalMessage("x")));

        var id = NewId();
        await store.AppendAsync(Start(id));
        await store.AppendAsync(new RunAppend(id, 1, [new RunCompleted { Sequence = 1, Timestamp = Ms(1) }]) { Status = RunStatus.Completed });

        var ex = await Assert.ThrowsAsync<RunFinishedException>(() => store.DeliverSignalAsync(id, new SignalMessage("late")));
        Assert.Equal(RunStatus.Completed, ex.Status);
        Assert.Empty(await store.ReadSignalsAsync(id));
        await Assert.ThrowsAsync<ArgumentException>(() => store.DeliverSignalAsync(id, new SignalMessage("")));
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

    [Fact]
    public async Task Leases_ClaimRenewExpireAndFence_OneHolderAtATime()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        await store.AppendAsync(Start(id));

        var first = Assert.Single(await store.ClaimRunsAsync(new ClaimRequest { Owner = "w1", LeaseDuration = TimeSpan.FromSeconds(10) }));
        Assert.Equal(id, first.RunId);
        Assert.Empty(await store.ClaimRunsAsync(new ClaimRequest { Owner = "w2", LeaseDuration = TimeSpan.FromSeconds(10) }));
        Assert.Null(await store.TryClaimRunAsync(id, "w2", TimeSpan.FromSeconds(10)));
        await store.AppendAsync(Steps(id, 1) with { LeaseEpoch = first.Epoch });
        first = await store.RenewLeaseAsync(first, TimeSpan.FromSeconds(10));

        await AdvanceClockAsync(TimeSpan.FromSeconds(11));
        var second = await store.TryClaimRunAsync(id, "w2", TimeSpan.FromSeconds(10));

        Assert.NotNull(second);
        Assert.True(second.Epoch > first.Epoch);
        var lost = await Assert.ThrowsAsync<LeaseLostException>(() => store.AppendAsync(Steps(id, 2) with { LeaseEpoch = first.Epoch }).AsTask());
        Assert.Equal(second.Epoch, lost.CurrentEpoch);
        await Assert.ThrowsAsync<LeaseLostException>(() => store.RenewLeaseAsync(first, TimeSpan.FromSeconds(10)));
        Assert.Equal(2, (await store.GetRunAsync(id))!.NextSequence);
        await store.AppendAsync(Steps(id, 2) with { LeaseEpoch = second.Epoch });

        await store.ReleaseLeaseAsync(first); // stale: must not free w2's lease
        Assert.Null(await store.TryClaimRunAsync(id, "w3", TimeSpan.FromSeconds(10)));
        await store.ReleaseLeaseAsync(second);
        var third = await store.TryClaimRunAsync(id, "w3", TimeSpan.FromSeconds(10));
        Assert.Equal("w3", third!.Owner);
        Assert.Equal("w3", (await store.GetRunAsync(id))!.LeaseOwner);
    }

    [Fact]
    public async Task ClaimRuns_SkipsFinishedAndNotYetDueRuns()
    {
        await using var store = await CreateStoreAsync();
        var pending = NewId("pending");
        var done = NewId("done");
        var sleeping = NewId("sleeping");
        await store.AppendAsync(Start(pending));
        await store.AppendAsync(Start(done));
        await store.AppendAsync(new RunAppend(done, 1, [new RunCompleted { Sequence = 1, Timestamp = Ms(1) }]) { Status = RunStatus.Completed });
        await store.AppendAsync(Start(sleeping));
        var now = (await store.GetRunAsync(sleeping))!.UpdatedAt;
        await store.AppendAsync(new RunAppend(sleeping, 1, [new TimerStarted { Sequence = 1, Timestamp = Ms(1), Step = 1, DueAt = now.AddMinutes(5) }]) { Status = RunStatus.Suspended, WakeAt = now.AddMinutes(5) });

        var claimed = await store.ClaimRunsAsync(new ClaimRequest { Owner = "w", MaxRuns = 10, LeaseDuration = TimeSpan.FromHours(1) });
        Assert.Equal([pending], claimed.Select(l => l.RunId));
        Assert.Null(await store.TryClaimRunAsync(done, "w", TimeSpan.FromSeconds(1)));

        await AdvanceClockAsync(TimeSpan.FromMinutes(6));
        var later = await store.ClaimRunsAsync(new ClaimRequest { Owner = "w", MaxRuns = 10, LeaseDuration = TimeSpan.FromHours(1) });
        Assert.Equal([sleeping], later.Select(l => l.RunId));
    }

    [Fact]
    public async Task PurgeRuns_FinishedBeforeCutoff_DeletesThemAndNeverAnUnfinishedRun()
    {
        await using var store = await CreateStoreAsync();
        var completed = NewId("done");
        var failed = NewId("failed");
        var running = NewId("running");
        var suspended = NewId("suspended");
        await store.AppendAsync(Start(completed));
        await store.AppendAsync(new RunAppend(completed, 1, [new RunCompleted { Sequence = 1, Timestamp = Ms(1) }]) { Status = RunStatus.Completed });
        await store.AppendAsync(Start(failed));
        await store.AppendAsync(new RunAppend(failed, 1, [new RunFailed { Sequence = 1, Timestamp = Ms(1), Error = new ErrorInfo("E", "m") }]) { Status = RunStatus.Failed });
        await store.AppendAsync(Start(running, status: RunStatus.Running));
        await store.AppendAsync(Start(suspended));
        await store.AppendAsync(new RunAppend(suspended, 1, []) { Status = RunStatus.Suspended });
        await store.DeliverSignalAsync(suspended, new SignalMessage("kept"));
        var cutoff = (await store.GetRunAsync(failed))!.UpdatedAt.AddMilliseconds(1);

        var dry = await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Completed, RunStatus.Failed], FinishedBefore = cutoff, DryRun = true });
        Assert.Equal([completed, failed], dry.Runs.Order());
        Assert.Equal(4, dry.Entries);
        Assert.NotNull(await store.GetRunAsync(completed));

        var done = await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Completed], FinishedBefore = cutoff });
        Assert.Equal([completed], done.Runs);
        Assert.Null(await store.GetRunAsync(completed));
        await Assert.ThrowsAsync<RunNotFoundException>(() => store.ReadAsync(completed));
        Assert.NotNull(await store.GetRunAsync(failed));

        var early = await store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Failed], FinishedBefore = cutoff.AddDays(-1) });
        Assert.Empty(early.Runs);
        Assert.Throws<ArgumentException>(() => new PurgeRequest { Statuses = [RunStatus.Running], FinishedBefore = cutoff }.Validate());
        await Assert.ThrowsAsync<ArgumentException>(() => store.PurgeRunsAsync(new PurgeRequest { Statuses = [RunStatus.Suspended], FinishedBefore = cutoff.AddYears(1) }));
        Assert.Equal(RunStatus.Suspended, (await store.GetRunAsync(suspended))!.Status);
        Assert.Single(await store.ReadSignalsAsync(suspended));
        Assert.NotNull(await store.GetRunAsync(running));
    }

    [Fact]
    public async Task Dispose_ThenUse_ThrowsObjectDisposed()
    {
        var store = await CreateStoreAsync();
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.AppendAsync(Start(NewId())).AsTask());
    }

    /// <summary>Returns UTF-8 bytes of <paramref name="text"/>, for payload helpers in subclasses.</summary>
    protected static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
#pragma warning restore CS1591
}
