using System.Collections.Concurrent;
using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Tests.Runtime;

public sealed class ChildRunTests
{
    private static readonly RunId Parent = new("parent-run");

    // Counts how often each child's effect body ran, by child run id.
    private sealed class Bodies
    {
        private readonly ConcurrentDictionary<string, int> _runs = new();

        public int this[RunId run] => _runs.GetValueOrDefault(run.Value);

        public int Total => _runs.Values.Sum();

        public void Ran(RunId run) => _runs.AddOrUpdate(run.Value, 1, (_, n) => n + 1);
    }

    // "research": one effect step, then waits for the signal "finish" when the topic asks for it.
    private static void RegisterResearch(DurableRuntime runtime, Bodies bodies)
        => runtime.Register<string, string>("research", async (ctx, topic) =>
        {
            var found = await ctx.StepAsync("search", step =>
            {
                bodies.Ran(step.RunId);
                return Task.FromResult($"notes on {topic}");
            }, StepOptions.IdempotentEffect);
            if (topic.StartsWith("wait", StringComparison.Ordinal))
            {
                found += " + " + await ctx.WaitForSignalAsync<string>("finish");
            }

            if (topic == "fail")
            {
                throw new InvalidOperationException("the sources disagree");
            }

            return found;
        });

    [Fact]
    public async Task RunChildAsync_ChildCompletes_ParentJournalsItsResultAndBothJournalsNameTheLink()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        var runtime = await harness.StartAsync(r =>
        {
            RegisterResearch(r, bodies);
            r.Register<string, string>("lead", async (ctx, topic) => "report: " + await ctx.RunChildAsync<string, string>("research", topic));
        });

        var handle = await runtime.Client.StartAsync("lead", "wal", new StartRunOptions { RunId = Parent });

        Assert.Equal("report: notes on wal", await handle.GetResultAsync<string>(RuntimeHarness.Timeout));
        var child = RunId.ForChild(Parent, 1);
        Assert.Equal(new RunId("parent-run:c1"), child);
        var parentJournal = await harness.Store.ReadAsync(Parent);
        var intent = parentJournal.OfType<StepStarted>().Single();
        Assert.Equal((StepKind.Child, "research", child), (intent.Kind, intent.Name, intent.ChildRunId));
        Assert.Equal("\"notes on wal\"", parentJournal.OfType<StepCompleted>().Single().Result!.ToString());
        var started = (RunStarted)(await harness.Store.ReadAsync(child))[0];
        Assert.Equal((Parent, 1, "research"), (started.ParentRunId, started.ParentStep, started.Workflow));

        // A child reports to its parent before it records its own end (so a crash between the two re-reports instead of
        // leaving the parent waiting): the parent can finish a moment before the child's status is written.
        await harness.WaitForStatusAsync(child, s => s.IsFinished());
        Assert.Equal(RunStatus.Completed, (await harness.Store.GetRunAsync(child))!.Status);
        Assert.Equal(1, bodies[child]);
    }

    [Fact]
    public async Task RunChildAsync_ParentWhileChildRuns_IsUnloadedHoldingNoLeaseAndResumesWhenTheChildFinishes()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        var runtime = await harness.StartAsync(r =>
        {
            RegisterResearch(r, bodies);
            r.Register<string, string>("lead", async (ctx, topic) => await ctx.RunChildAsync<string, string>("research", topic));
        });
        await runtime.Client.StartAsync("lead", "wait for review", new StartRunOptions { RunId = Parent });
        var child = RunId.ForChild(Parent, 1);

        await harness.WaitForDetailAsync(child, "'finish'");
        var parent = await harness.WaitForStatusAsync(Parent, s => s == RunStatus.Suspended);
        Assert.Contains($"child: step 1 waits for run '{child}'", parent.StatusDetail, StringComparison.Ordinal);
        Assert.Null(parent.WakeAt);
        await harness.WaitForLeaseReleasedAsync(Parent);
        var timeline = await runtime.Client.GetTimelineAsync(Parent);
        Assert.Equal((StepKind.Child, StepState.Waiting, child), (timeline.Steps[0].Kind, timeline.Steps[0].State, timeline.Steps[0].ChildRunId));
        Assert.Equal([child], timeline.Children);

        await runtime.Client.SignalAsync(child, "finish", "reviewed");

        Assert.Equal("notes on wait for review + reviewed", await runtime.Client.GetResultAsync<string>(Parent, RuntimeHarness.Timeout));
        var done = await runtime.Client.GetTimelineAsync(Parent);
        Assert.Equal((StepState.Completed, RunStatus.Completed), (done.Steps[0].State, done.Steps[0].ChildStatus));
        Assert.Empty(done.PendingSignals);
        var childTimeline = await runtime.Client.GetTimelineAsync(child);
        Assert.Equal((Parent, 1), (childTimeline.ParentRunId, childTimeline.ParentStep));
    }

    [Fact]
    public async Task RunChildAsync_ReplayedAfterRestarts_StartsTheChildOnceAndRunsItsBodyOnce()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        var parentSteps = 0;
        void Register(DurableRuntime r)
        {
            RegisterResearch(r, bodies);
            r.Register<string, string>("lead", async (ctx, topic) =>
            {
                await ctx.StepAsync("plan", _ => Task.FromResult(Interlocked.Increment(ref parentSteps)));
                var notes = await ctx.RunChildAsync<string, string>("research", topic);
                var verdict = await ctx.WaitForSignalAsync<string>("verdict");
                return $"{notes}: {verdict}";
            });
        }

        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("lead", "wal", new StartRunOptions { RunId = Parent });
        await harness.WaitForDetailAsync(Parent, "'verdict'");
        await harness.CrashAsync(first);

        // Two more activations (woken by a signal the run does not wait for) replay the child step from the parent's journal;
        // neither starts or asks the child again.
        var second = await harness.StartAsync(Register);
        for (var wake = 1; wake <= 2; wake++)
        {
            await second.Client.SignalAsync(Parent, "noise", wake);
            await WaitForResumptionsAsync(harness, Parent, wake + 1);
        }

        await second.DisposeAsync();
        var third = await harness.StartAsync(Register);
        await third.Client.SignalAsync(Parent, "verdict", "sound");

        Assert.Equal("notes on wal: sound", await third.Client.GetResultAsync<string>(Parent, RuntimeHarness.Timeout));
        var child = RunId.ForChild(Parent, 2);
        Assert.Equal(1, bodies[child]);
        Assert.Equal(1, bodies.Total);
        Assert.Equal(1, parentSteps);
        Assert.Single((await harness.Store.ReadAsync(child)).OfType<RunCompleted>());
        Assert.Equal([Parent, child], (await harness.Store.ListRunsAsync(new RunQuery { NewestFirst = false })).Runs.Select(r => r.RunId));
    }

    [Fact]
    public async Task RunChildAsync_ParentCrashesBetweenItsIntentAndTheChildsStart_RecoveryStartsTheChildOnce()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        void Register(DurableRuntime r)
        {
            RegisterResearch(r, bodies);
            r.Register<string, string>("lead", async (ctx, topic) => await ctx.RunChildAsync<string, string>("research", topic));
        }

        var child = RunId.ForChild(Parent, 1);
        harness.Store.CrashWhen(append => append.RunId == child);
        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("lead", "wal", new StartRunOptions { RunId = Parent });
        while (!harness.Store.Crashed)
        {
            await Task.Delay(10);
        }

        await first.StopAsync();
        harness.Store.Revive();
        Assert.Null(await harness.Store.GetRunAsync(child));
        Assert.Equal(child, (await harness.Store.ReadAsync(Parent)).OfType<StepStarted>().Single().ChildRunId);

        var second = await harness.StartAsync(Register);

        Assert.Equal("notes on wal", await second.Client.GetResultAsync<string>(Parent, RuntimeHarness.Timeout));
        Assert.Equal(1, bodies[child]);
    }

    [Fact]
    public async Task RunChildAsync_ChildCrashesAfterReportingBeforeItsEnd_RecoveryReportsAgainAndTheParentKeepsOneOutcome()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        void Register(DurableRuntime r)
        {
            RegisterResearch(r, bodies);
            r.Register<string, string>("lead", async (ctx, topic) =>
            {
                var notes = await ctx.RunChildAsync<string, string>("research", topic);
                return notes + " / " + await ctx.WaitForSignalAsync<string>("verdict");
            });
        }

        var child = RunId.ForChild(Parent, 1);
        harness.Store.CrashWhen(append => append.RunId == child && append.Entries.Any(e => e is RunCompleted));
        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("lead", "wal", new StartRunOptions { RunId = Parent });
        while (!harness.Store.Crashed)
        {
            await Task.Delay(10);
        }

        await first.StopAsync();
        harness.Store.Revive();
        Assert.Single(await harness.Store.ReadSignalsAsync(Parent));
        Assert.False((await harness.Store.GetRunAsync(child))!.Status.IsFinished());

        var second = await harness.StartAsync(Register);
        await harness.WaitForStatusAsync(child, s => s == RunStatus.Completed);
        await harness.WaitForDetailAsync(Parent, "'verdict'");
        await second.Client.SignalAsync(Parent, "verdict", "ok");

        Assert.Equal("notes on wal / ok", await second.Client.GetResultAsync<string>(Parent, RuntimeHarness.Timeout));
        Assert.Equal(2, (await harness.Store.ReadSignalsAsync(Parent)).Count(s => s.Name == "$child:1"));
        Assert.Single((await harness.Store.ReadAsync(Parent)).OfType<StepCompleted>(), c => c.Step == 1);
        Assert.DoesNotContain((await second.Client.GetTimelineAsync(Parent)).PendingSignals, s => s.Name.StartsWith('$'));
        Assert.Equal(1, bodies[child]);
    }

    [Fact]
    public async Task CancelAsync_ParentThatCatchesTheCancellationAndReturns_StillCancelsItsChild()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        var runtime = await harness.StartAsync(r =>
        {
            RegisterResearch(r, bodies);
            r.Register<string, string>("lead", async (ctx, topic) =>
            {
                try
                {
                    return await ctx.RunChildAsync<string, string>("research", topic);
                }
                catch (OperationCanceledException)
                {
                    return "gave up";
                }
            });
        });
        await runtime.Client.StartAsync("lead", "wait", new StartRunOptions { RunId = Parent });
        var child = RunId.ForChild(Parent, 1);
        await harness.WaitForDetailAsync(child, "'finish'");
        await harness.WaitForStatusAsync(Parent, s => s == RunStatus.Suspended);

        await runtime.Client.CancelAsync(Parent);

        Assert.Equal("gave up", await runtime.Client.GetResultAsync<string>(Parent, RuntimeHarness.Timeout));
        Assert.Equal(RunStatus.Cancelled, (await harness.WaitForStatusAsync(child, s => s.IsFinished())).Status);
    }

    [Fact]
    public async Task RunChildAsync_ChildFails_ParentGetsChildRunFailedExceptionNowAndOnReplay()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        var caught = new ConcurrentQueue<ChildRunFailedException>();
        void Register(DurableRuntime r)
        {
            RegisterResearch(r, bodies);
            r.Register<string, string>("lead", async (ctx, topic) =>
            {
                try
                {
                    return await ctx.RunChildAsync<string, string>("research", topic, new ChildRunOptions { Name = "sub-agent" });
                }
                catch (ChildRunFailedException ex)
                {
                    caught.Enqueue(ex);
                }

                return "fell back: " + await ctx.WaitForSignalAsync<string>("fallback");
            });
        }

        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("lead", "fail", new StartRunOptions { RunId = Parent });
        await harness.WaitForDetailAsync(Parent, "'fallback'");
        await first.DisposeAsync();
        var second = await harness.StartAsync(Register);
        await second.Client.SignalAsync(Parent, "fallback", "manual notes");

        Assert.Equal("fell back: manual notes", await second.Client.GetResultAsync<string>(Parent, RuntimeHarness.Timeout));
        var child = RunId.ForChild(Parent, 1);
        Assert.Equal(2, caught.Count);
        Assert.All(caught, ex =>
        {
            Assert.Equal((child, RunStatus.Failed, 1, "sub-agent"), (ex.ChildRunId, ex.Status, ex.Step, ex.StepName));
            Assert.Equal(("System.InvalidOperationException", "the sources disagree"), (ex.Error.Type, ex.Error.Message));
            Assert.Contains("the sources disagree", ex.Message, StringComparison.Ordinal);
        });
        var failed = (await harness.Store.ReadAsync(Parent)).OfType<StepFailed>().Single();
        Assert.Equal((RunStatus.Failed, (DateTimeOffset?)null), (failed.ChildStatus, failed.RetryAt));
        var step = (await second.Client.GetTimelineAsync(Parent)).Steps[0];
        Assert.Equal((StepState.Failed, RunStatus.Failed, "sub-agent"), (step.State, step.ChildStatus, step.Name));
        Assert.Equal(1, bodies[child]);
    }

    [Fact]
    public async Task RunChildAsync_ChildCancelledOnItsOwn_ParentGetsChildRunFailedExceptionWithStatusCancelled()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        var runtime = await harness.StartAsync(r =>
        {
            RegisterResearch(r, bodies);
            r.Register<string, string>("lead", async (ctx, topic) =>
            {
                try
                {
                    return await ctx.RunChildAsync<string, string>("research", topic);
                }
                catch (ChildRunFailedException ex) when (ex.Status == RunStatus.Cancelled)
                {
                    return $"child cancelled: {ex.Error.Message}";
                }
            });
        });
        await runtime.Client.StartAsync("lead", "wait", new StartRunOptions { RunId = Parent });
        var child = RunId.ForChild(Parent, 1);
        await harness.WaitForDetailAsync(child, "'finish'");

        await runtime.Client.CancelAsync(new CancelRequest(child) { Reason = "off topic" });

        Assert.Equal("child cancelled: off topic", await runtime.Client.GetResultAsync<string>(Parent, RuntimeHarness.Timeout));
        Assert.Equal(RunStatus.Completed, (await harness.Store.GetRunAsync(Parent))!.Status);
        await harness.WaitForStatusAsync(child, s => s.IsFinished()); // the child reports to its parent, then records its end
        Assert.Equal(RunStatus.Cancelled, (await harness.Store.GetRunAsync(child))!.Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CancelAsync_Parent_CancelsItsChildrenAndTheirChildren(bool fromAnotherClient)
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        var runtime = await harness.StartAsync(r =>
        {
            RegisterResearch(r, bodies);
            r.Register<string, string>("middle", async (ctx, topic) => await ctx.RunChildAsync<string, string>("research", topic));
            r.Register<string, string>("lead", async (ctx, topic) =>
            {
                var both = await Task.WhenAll(ctx.RunChildAsync<string, string>("middle", topic), ctx.RunChildAsync<string, string>("research", topic));
                return string.Join(", ", both);
            });
        });
        await runtime.Client.StartAsync("lead", "wait", new StartRunOptions { RunId = Parent });
        var middle = RunId.ForChild(Parent, 1);
        var grandchild = RunId.ForChild(middle, 1);
        var sibling = RunId.ForChild(Parent, 2);
        await harness.WaitForDetailAsync(grandchild, "'finish'");
        await harness.WaitForDetailAsync(sibling, "'finish'");
        await harness.WaitForStatusAsync(Parent, s => s == RunStatus.Suspended);

        // A client of its own is what another process (the CLI, a web app) has: it only writes to the store.
        var client = fromAnotherClient ? new DurableClient(harness.Store) : runtime.Client;
        await client.CancelAsync(new CancelRequest(Parent) { Reason = "budget spent" });

        foreach (var run in new[] { Parent, middle, grandchild, sibling })
        {
            Assert.Equal(RunStatus.Cancelled, (await harness.WaitForStatusAsync(run, s => s.IsFinished())).Status);
        }

        Assert.Equal("budget spent", (await harness.Store.ReadAsync(Parent)).OfType<RunCancelled>().Single().Reason);
        Assert.Equal($"parent run '{Parent}' was cancelled: budget spent", (await harness.Store.ReadAsync(middle)).OfType<RunCancelled>().Single().Reason);
        Assert.Equal($"parent run '{middle}' was cancelled: parent run '{Parent}' was cancelled: budget spent", (await harness.Store.ReadAsync(grandchild)).OfType<RunCancelled>().Single().Reason);
    }

    [Fact]
    public async Task RunChildAsync_ParallelChildren_AllRunAtOnceAndReplayInCallOrderAfterARestart()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        void Register(DurableRuntime r)
        {
            RegisterResearch(r, bodies);
            r.Register<string[], string>("lead", async (ctx, topics) =>
            {
                var notes = await Task.WhenAll(topics.Select(t => ctx.RunChildAsync<string, string>("research", t, new ChildRunOptions { Name = "research " + t })));
                var verdict = await ctx.WaitForSignalAsync<string>("verdict");
                return string.Join(" | ", notes) + " => " + verdict;
            });
        }

        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("lead", new[] { "wait-a", "wait-b", "wait-c" }, new StartRunOptions { RunId = Parent });
        var children = Enumerable.Range(1, 3).Select(step => RunId.ForChild(Parent, step)).ToList();

        // All three wait at once: the first child's suspension did not keep the others from starting.
        foreach (var child in children)
        {
            await harness.WaitForDetailAsync(child, "'finish'");
        }

        var parent = await harness.WaitForStatusAsync(Parent, s => s == RunStatus.Suspended);
        Assert.All(children, c => Assert.Contains($"waits for run '{c}'", parent.StatusDetail, StringComparison.Ordinal));

        // They finish in reverse order; the parent's results stay in call order.
        foreach (var (child, i) in children.Select((c, i) => (c, i)).Reverse())
        {
            await first.Client.SignalAsync(child, "finish", $"done {i}");
            await harness.WaitForStatusAsync(child, s => s == RunStatus.Completed);
        }

        await harness.WaitForDetailAsync(Parent, "'verdict'");
        await first.DisposeAsync();
        var second = await harness.StartAsync(Register);
        await second.Client.SignalAsync(Parent, "verdict", "ok");

        Assert.Equal("notes on wait-a + done 0 | notes on wait-b + done 1 | notes on wait-c + done 2 => ok", await second.Client.GetResultAsync<string>(Parent, RuntimeHarness.Timeout));
        Assert.All(children, c => Assert.Equal(1, bodies[c]));
        var journal = await harness.Store.ReadAsync(Parent);
        Assert.Equal(["research wait-a", "research wait-b", "research wait-c"], journal.OfType<StepStarted>().Where(s => s.Kind == StepKind.Child).Select(s => s.Name));
        Assert.Equal(3, journal.OfType<StepStarted>().Count(s => s.Kind == StepKind.Child));
        Assert.Equal(4, (await harness.Store.ListRunsAsync(new RunQuery())).Runs.Count);
    }

    [Fact]
    public async Task RunChildAsync_InputChangedOnReplay_StopsTheParentWithNonDeterminism()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        var topic = "wal";
        void Register(DurableRuntime r)
        {
            RegisterResearch(r, bodies);
            r.Register<int, string>("lead", async (ctx, _) =>
            {
                var notes = await ctx.RunChildAsync<string, string>("research", topic);
                return notes + await ctx.WaitForSignalAsync<string>("more");
            });
        }

        var first = await harness.StartAsync(Register);
        await first.Client.StartAsync("lead", 0, new StartRunOptions { RunId = Parent });
        await harness.WaitForDetailAsync(Parent, "'more'");
        await first.DisposeAsync();
        topic = "lsm trees";
        var second = await harness.StartAsync(Register);
        await second.Client.SignalAsync(Parent, "more", "!");

        var ex = await Assert.ThrowsAsync<RunFailedException>(() => second.Client.GetResultAsync<string>(Parent, RuntimeHarness.Timeout));
        Assert.Contains("not deterministic at step 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("argument hash", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, bodies.Total);
    }

    [Fact]
    public async Task RunChildAsync_Typed_StartsTheClassFormWorkflowByItsRegisteredName()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r =>
        {
            r.Register(() => new Summarize());
            r.Register<string, int>("lead", async (ctx, text) => await ctx.RunChildAsync<Summarize, string, int>(text));
        });

        Assert.Equal(11, await (await runtime.Client.StartAsync("lead", "hello world", new StartRunOptions { RunId = Parent })).GetResultAsync<int>(RuntimeHarness.Timeout));
        Assert.Equal("summarize", ((RunStarted)(await harness.Store.ReadAsync(RunId.ForChild(Parent, 1)))[0]).Workflow);
    }

    [Fact]
    public async Task RunChildAsync_UnregisteredWorkflow_FailsTheParentNamingTheWorkflowAndStartsNothing()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<string, string>("lead", async (ctx, topic) => await ctx.RunChildAsync<string, string>("reserch", topic)));

        var ex = await Assert.ThrowsAsync<RunFailedException>(async () => await (await runtime.Client.StartAsync("lead", "wal", new StartRunOptions { RunId = Parent })).GetResultAsync<string>(RuntimeHarness.Timeout));

        Assert.Contains("No workflow named 'reserch'", ex.Message, StringComparison.Ordinal);
        Assert.Single((await harness.Store.ListRunsAsync(new RunQuery())).Runs);
    }

    [Fact]
    public async Task RunChildAsync_ChildIdTakenByAnotherRun_FailsTheParentInsteadOfAdoptingIt()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        var runtime = await harness.StartAsync(r =>
        {
            RegisterResearch(r, bodies);
            r.Register<string, string>("lead", async (ctx, topic) => await ctx.RunChildAsync<string, string>("research", topic));
        });
        await runtime.Client.StartAsync("research", "wait", new StartRunOptions { RunId = RunId.ForChild(Parent, 1) });

        var ex = await Assert.ThrowsAsync<RunFailedException>(async () => await (await runtime.Client.StartAsync("lead", "wal", new StartRunOptions { RunId = Parent })).GetResultAsync<string>(RuntimeHarness.Timeout));

        Assert.Contains("is not that step's child", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForkAsync_ParentWhoseChildRuns_StartsChildrenOfItsOwnAndAForkOfTheChildReportsToNobody()
    {
        await using var harness = new RuntimeHarness();
        var bodies = new Bodies();
        var runtime = await harness.StartAsync(r =>
        {
            RegisterResearch(r, bodies);
            r.Register<string, string>("lead", async (ctx, topic) => await ctx.RunChildAsync<string, string>("research", topic));
        });
        await runtime.Client.StartAsync("lead", "wait", new StartRunOptions { RunId = Parent });
        var child = RunId.ForChild(Parent, 1);
        await harness.WaitForDetailAsync(child, "'finish'");
        await harness.WaitForStatusAsync(Parent, s => s == RunStatus.Suspended);

        // The fork copies the parent's open child step; it starts a child of its own instead of waiting for the source's.
        var fork = await runtime.Client.ForkAsync(new ForkRequest(Parent, 1) { NewRunId = new RunId("lead-fork") });
        var forkChild = RunId.ForChild(fork.RunId, 1);
        await harness.WaitForDetailAsync(forkChild, "'finish'");
        var childFork = await runtime.Client.ForkAsync(new ForkRequest(child, 1) { NewRunId = new RunId("child-fork") });
        await harness.WaitForDetailAsync(childFork.RunId, "'finish'");
        await runtime.Client.SignalAsync(childFork.RunId, "finish", "from the child's fork");
        Assert.Equal("notes on wait + from the child's fork", await childFork.GetResultAsync<string>(RuntimeHarness.Timeout));
        await runtime.Client.SignalAsync(forkChild, "finish", "for the fork");
        await runtime.Client.SignalAsync(child, "finish", "for the source");

        Assert.Equal("notes on wait + for the fork", await fork.GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Equal("notes on wait + for the source", await runtime.Client.GetResultAsync<string>(Parent, RuntimeHarness.Timeout));
        Assert.Null(((RunStarted)(await harness.Store.ReadAsync(childFork.RunId))[0]).ParentRunId);
        Assert.Equal(forkChild, (await harness.Store.ReadAsync(fork.RunId)).OfType<StepStarted>().Last().ChildRunId);
        Assert.Equal((1, 1), (bodies[child], bodies[forkChild]));
    }

    [Fact]
    public void ForChild_ParentIdNearTheLimit_GivesDistinctValidIdsWithinTheLimit()
    {
        var a = new RunId(new string('a', RunId.MaxLength));
        var b = new RunId(new string('a', RunId.MaxLength - 1) + "b");

        var ids = new[] { RunId.ForChild(a, 1), RunId.ForChild(b, 1), RunId.ForChild(a, 12345), RunId.ForChild(RunId.ForChild(a, 1), 1) };

        Assert.All(ids, id => Assert.True(id.Value.Length <= RunId.MaxLength && RunId.Validate(id.Value) is null, id.Value));
        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.EndsWith(":c12345", ids[2].Value, StringComparison.Ordinal);
        Assert.Equal(RunId.ForChild(a, 1), RunId.ForChild(a, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RunId.ForChild(a, 0));
    }

    // Waits until the run's journal records this many resumptions and the run is unloaded again.
    private static async Task WaitForResumptionsAsync(RuntimeHarness harness, RunId run, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await harness.Store.ReadAsync(run)).OfType<RunResumed>().Count() < count || (await harness.Store.GetRunAsync(run))!.Status != RunStatus.Suspended)
        {
            Assert.True(DateTime.UtcNow < deadline, $"run {run} was not resumed {count} times");
            await Task.Delay(10);
        }
    }

    private sealed class Summarize : Workflow<string, int>
    {
        public override string Name => "summarize";

        public override Task<int> RunAsync(RunContext context, string input) => context.StepAsync("count", _ => Task.FromResult(input.Length));
    }
}
