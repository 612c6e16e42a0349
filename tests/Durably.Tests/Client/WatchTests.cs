using Durably.Journal;
using Durably.Storage;
using Durably.Tests.Runtime;

namespace Durably.Tests.Client;

public sealed class WatchTests
{
    [Fact]
    public async Task WatchAsync_FinishedRun_TellsEveryEntryOnceAndEnds()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(Register);
        var handle = await runtime.Client.StartAsync("steps", 3);
        await handle.GetResultAsync<int>(RuntimeHarness.Timeout);

        var events = await CollectAsync(handle.WatchAsync(null, RuntimeHarness.Timeout));

        var journal = await harness.Store.ReadAsync(handle.RunId);
        Assert.Equal(journal.Select(e => e.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)), events.Select(e => e.Cursor));
        Assert.Equal(
            [RunEventKind.RunStarted, RunEventKind.StepStarted, RunEventKind.StepCompleted, RunEventKind.StepStarted, RunEventKind.StepCompleted, RunEventKind.StepStarted, RunEventKind.StepCompleted, RunEventKind.RunCompleted],
            events.Select(e => e.Kind));
        Assert.Equal(("step-2", StepKind.Compute, 2, "4"), (events[4].Name, events[4].StepKind, events[4].Step, events[4].Preview));
        Assert.Equal("3", events[^1].Preview);
        Assert.True(events[^1].IsFinal);
    }

    [Fact]
    public async Task WatchAsync_FromEachCursor_YieldsExactlyTheEventsAfterIt()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(Register);
        var handle = await runtime.Client.StartAsync("steps", 4);
        await handle.GetResultAsync<int>(RuntimeHarness.Timeout);
        var all = await CollectAsync(handle.WatchAsync(null, RuntimeHarness.Timeout));

        for (var i = 0; i < all.Count; i++)
        {
            var rest = await CollectAsync(handle.WatchAsync(all[i].Cursor, RuntimeHarness.Timeout));
            Assert.Equal(all.Skip(i + 1), rest);
        }
    }

    [Fact]
    public async Task WatchAsync_LiveRunOfThisRuntime_IsWokenByItsWritesWithoutPolling()
    {
        // The clock is fake and never moved, so the watcher's poll never fires: only the runtime's writes can wake it.
        await using var harness = new RuntimeHarness(fakeClock: true);
        var runtime = await harness.StartAsync(r => r.Register<int, string>("gated", async (ctx, _) =>
        {
            await ctx.StepAsync("before", _ => Task.FromResult(1));
            var word = await ctx.WaitForSignalAsync<string>("go");
            return await ctx.StepAsync("after", _ => Task.FromResult(word + "!"));
        }));
        var handle = await runtime.Client.StartAsync("gated", 0);
        var events = new List<RunEvent>();
        var suspended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Task.Run(async () =>
        {
            await foreach (var e in handle.WatchAsync(null, RuntimeHarness.Timeout))
            {
                events.Add(e);
                if (e.Kind == RunEventKind.Suspended)
                {
                    suspended.SetResult();
                }
            }
        });

        await suspended.Task.WaitAsync(RuntimeHarness.Timeout);
        await harness.WaitForStatusAsync(handle.RunId, s => s == RunStatus.Suspended);
        await runtime.Client.SignalAsync(handle.RunId, "go", "go", RuntimeHarness.Timeout);
        await watch.WaitAsync(RuntimeHarness.Timeout);

        Assert.Equal(
            [RunEventKind.RunStarted, RunEventKind.StepStarted, RunEventKind.StepCompleted, RunEventKind.Suspended, RunEventKind.Resumed, RunEventKind.SignalReceived, RunEventKind.StepStarted, RunEventKind.StepCompleted, RunEventKind.RunCompleted],
            events.Select(e => e.Kind));
        Assert.Equal("signal 'go'", events[3].WaitingFor);
        Assert.Equal("\"go!\"", events[^1].Preview);
    }

    [Fact]
    public async Task WatchAsync_MalformedCursor_ThrowsWhenCalled()
    {
        var client = new DurableClient(new InMemoryJournalStore());

        var ex = Assert.Throws<ArgumentException>(() => client.WatchAsync(new RunId("r"), "seven"));

        Assert.Contains("not a cursor of a run event", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => client.WatchAsync(new RunId("r"), "-1"));
    }

    [Fact]
    public async Task WatchAsync_CursorPastTheJournal_ThrowsNamingTheRunsLength()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(Register);
        var handle = await runtime.Client.StartAsync("steps", 1);
        await handle.GetResultAsync<int>(RuntimeHarness.Timeout);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => CollectAsync(handle.WatchAsync("99", RuntimeHarness.Timeout)));

        Assert.Contains("holds 4 entries", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchAsync_UnknownRun_ThrowsRunNotFound()
    {
        var client = new DurableClient(new InMemoryJournalStore());

        await Assert.ThrowsAsync<RunNotFoundException>(() => CollectAsync(client.WatchAsync(new RunId("nobody"), null, RuntimeHarness.Timeout)));
    }

    [Fact]
    public async Task ReportProgress_StreamingStep_JournalsCoalescedDeltasAfterTheIntentAndReplayIgnoresThem()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var clock = harness.Clock!;
        var bodies = 0;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Register(DurableRuntime r) => r.Register<int, string>("streaming", async (ctx, _) =>
        {
            var text = await ctx.StepAsync("stream", step =>
            {
                Interlocked.Increment(ref bodies);
                step.ReportProgress("a");
                step.ReportProgress("b");
                clock.Advance(StepContext.ProgressInterval);
                step.ReportProgress("c");
                step.ReportProgress("d");
                step.ReportProgress(new string('e', StepContext.ProgressFlushChars));
                step.ReportProgress("f");
                return Task.FromResult("done");
            }, StepOptions.Model);
            var word = await ctx.WaitForSignalAsync<string>("go");
            return text + word;
        });

        var runtime = await harness.StartAsync(Register);
        var handle = await runtime.Client.StartAsync("streaming", 0);
        await harness.WaitForStatusAsync(handle.RunId, s => s == RunStatus.Suspended);
        await runtime.Client.SignalAsync(handle.RunId, "go", "!", RuntimeHarness.Timeout);
        Assert.Equal("done!", await handle.GetResultAsync<string>(RuntimeHarness.Timeout));

        // The step ran once: on resumption replay returned its result and ignored its progress.
        Assert.Equal(1, bodies);
        var journal = await harness.Store.ReadAsync(handle.RunId);
        var stepEntries = journal.Where(e => RunHistory.StepOf(e) == 1 || e is StepProgress { Step: 1 }).Select(e => e switch
        {
            StepStarted => "intent",
            StepProgress p => p.Text.Length > 10 ? $"progress {p.Text[..2]}..({p.Text.Length})" : "progress " + p.Text,
            StepCompleted => "outcome",
            _ => e.GetType().Name,
        });
        Assert.Equal(["intent", "progress abc", $"progress de..({StepContext.ProgressFlushChars + 1})", "progress f", "outcome"], stepEntries);
        var events = await CollectAsync(handle.WatchAsync(null, RuntimeHarness.Timeout));
        Assert.Equal("abcd" + new string('e', StepContext.ProgressFlushChars) + "f", string.Concat(events.Where(e => e.Kind == RunEventKind.StepProgress && e.Step == 1).Select(e => e.Text)));
        Assert.All(events.Where(e => e.Kind == RunEventKind.StepProgress), e => Assert.Equal(("stream", StepKind.Model), (e.Name, e.StepKind)));
    }

    [Fact]
    public async Task ReportProgress_StepThatEndsWithinTheInterval_JournalsNoProgress()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var runtime = await harness.StartAsync(r => r.Register<int, string>("quick", (ctx, _) => ctx.StepAsync("stream", step =>
        {
            step.ReportProgress("all at once");
            return Task.FromResult("done");
        }, StepOptions.Model)));
        var handle = await runtime.Client.StartAsync("quick", 0);
        await handle.GetResultAsync<string>(RuntimeHarness.Timeout);

        var journal = await harness.Store.ReadAsync(handle.RunId);

        Assert.DoesNotContain(journal, e => e is StepProgress);
        Assert.Equal(["RunStarted", "StepStarted", "StepCompleted", "RunCompleted"], journal.Select(e => e.GetType().Name));
    }

    private static void Register(DurableRuntime runtime) => runtime.Register<int, int>("steps", async (ctx, count) =>
    {
        var last = 0;
        for (var i = 1; i <= count; i++)
        {
            var n = i;
            last = await ctx.StepAsync($"step-{n}", _ => Task.FromResult(n * n));
        }

        return count;
    });

    private static async Task<List<RunEvent>> CollectAsync(IAsyncEnumerable<RunEvent> events)
    {
        var list = new List<RunEvent>();
        await foreach (var e in events)
        {
            list.Add(e);
        }

        return list;
    }
}
