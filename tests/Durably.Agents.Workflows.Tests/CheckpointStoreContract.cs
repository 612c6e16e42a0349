using System.Text.Json;
using Durably.Inspection;
using Durably.Storage;
using Microsoft.Agents.AI.Workflows;
using Microsoft.Agents.AI.Workflows.Checkpointing;

namespace Durably.Agents.Workflows.Tests;

// What the framework's own stores (its in-memory manager and FileSystemJsonCheckpointStore) promise, asked of a
// DurablyCheckpointStore over a real journal store. Subclasses open SQLite and PostgreSQL.
public abstract class CheckpointStoreContract : IAsyncLifetime
{
    private readonly List<IJournalStore> _opened = [];

    protected static JsonElement Data(object value) => JsonSerializer.SerializeToElement(value);

    // Opens the journal store under test; a second call opens the same data again (another process would).
    protected abstract Task<IJournalStore> OpenJournalAsync();

    protected async Task<IJournalStore> OpenAsync()
    {
        var store = await OpenJournalAsync();
        _opened.Add(store);
        return store;
    }

    protected async Task CloseAsync(IJournalStore store)
    {
        _opened.Remove(store);
        await store.DisposeAsync();
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task RetrieveCheckpointAsync_AfterCreate_ReturnsTheValue()
    {
        var checkpoints = new DurablyCheckpointStore(await OpenAsync());

        var info = await checkpoints.CreateCheckpointAsync("s1", Data(new { name = "test", value = 42 }));
        var value = await checkpoints.RetrieveCheckpointAsync("s1", info);

        Assert.Equal("s1", info.SessionId);
        Assert.Equal("test", value.GetProperty("name").GetString());
        Assert.Equal(42, value.GetProperty("value").GetInt32());
    }

    [Fact]
    public async Task RetrieveCheckpointAsync_AfterReopen_ReturnsWhatWasCommitted()
    {
        var journal = await OpenAsync();
        var info = await new DurablyCheckpointStore(journal).CreateCheckpointAsync("s1", Data(new[] { 1, 2, 3 }));
        await CloseAsync(journal);

        var reopened = new DurablyCheckpointStore(await OpenAsync());

        var value = await reopened.RetrieveCheckpointAsync("s1", info);
        Assert.Equal(new[] { 1, 2, 3 }, value.Deserialize<int[]>());
        Assert.Equal([info], await reopened.RetrieveIndexAsync("s1"));
    }

    [Fact]
    public async Task RetrieveIndexAsync_SeveralCheckpoints_DistinctInCommitOrder()
    {
        var checkpoints = new DurablyCheckpointStore(await OpenAsync());
        var committed = new List<CheckpointInfo>();
        CheckpointInfo? parent = null;
        for (var i = 0; i < 8; i++)
        {
            parent = await checkpoints.CreateCheckpointAsync("s1", Data($"checkpoint-{i}"), parent);
            committed.Add(parent);
        }

        var index = (await checkpoints.RetrieveIndexAsync("s1")).ToArray();
        var latest = await CheckpointManager.CreateJson(checkpoints).GetLatestCheckpointAsync("s1");

        Assert.Equal(committed, index);
        Assert.Equal(committed.Count, index.Distinct().Count());
        Assert.Equal(committed[^1], latest);
        Assert.Equal(committed, await new DurablyCheckpointStore(await OpenAsync()).RetrieveIndexAsync("s1"));
    }

    [Fact]
    public async Task RetrieveIndexAsync_TwoSessions_ReturnsOnlyTheRequestedOne()
    {
        var checkpoints = new DurablyCheckpointStore(await OpenAsync());
        var first = await checkpoints.CreateCheckpointAsync("first", Data(1));
        var second = await checkpoints.CreateCheckpointAsync("second", Data(2));

        Assert.Equal([first], await checkpoints.RetrieveIndexAsync("first"));
        Assert.Equal([second], await new DurablyCheckpointStore(await OpenAsync()).RetrieveIndexAsync("second"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => checkpoints.RetrieveCheckpointAsync("first", second).AsTask());
    }

    [Fact]
    public async Task RetrieveIndexAsync_WithParent_ReturnsOnlyItsChildren()
    {
        var checkpoints = new DurablyCheckpointStore(await OpenAsync());
        var parent = await checkpoints.CreateCheckpointAsync("s1", Data("parent"));
        var child = await checkpoints.CreateCheckpointAsync("s1", Data("child"), parent);
        var unrelated = await checkpoints.CreateCheckpointAsync("s1", Data("unrelated"));
        var sibling = await checkpoints.CreateCheckpointAsync("s1", Data("sibling"), parent);

        Assert.Equal([child, sibling], await checkpoints.RetrieveIndexAsync("s1", parent));
        Assert.Empty(await checkpoints.RetrieveIndexAsync("s1", unrelated));
        Assert.Equal([child, sibling], await new DurablyCheckpointStore(await OpenAsync()).RetrieveIndexAsync("s1", parent));
    }

    [Fact]
    public async Task RetrieveIndexAsync_UnknownSession_IsEmpty()
    {
        var checkpoints = new DurablyCheckpointStore(await OpenAsync());

        Assert.Empty(await checkpoints.RetrieveIndexAsync("nobody"));
        Assert.Null(await CheckpointManager.CreateJson(checkpoints).GetLatestCheckpointAsync("nobody"));
    }

    [Fact]
    public async Task RetrieveCheckpointAsync_UnknownCheckpoint_ThrowsKeyNotFound()
    {
        var checkpoints = new DurablyCheckpointStore(await OpenAsync());
        await checkpoints.CreateCheckpointAsync("s1", Data(1));

        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => checkpoints.RetrieveCheckpointAsync("s1", new CheckpointInfo("s1", "missing")).AsTask());
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => checkpoints.RetrieveCheckpointAsync("other", new CheckpointInfo("other", "missing")).AsTask());
    }

    [Fact]
    public async Task Calls_BadArguments_ThrowArgumentExceptions()
    {
        var checkpoints = new DurablyCheckpointStore(await OpenAsync());

        await Assert.ThrowsAnyAsync<ArgumentException>(() => checkpoints.CreateCheckpointAsync("", Data(1)).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => checkpoints.CreateCheckpointAsync(null!, Data(1)).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => checkpoints.CreateCheckpointAsync("s1", default).AsTask());
        await Assert.ThrowsAsync<ArgumentNullException>(() => checkpoints.RetrieveCheckpointAsync("s1", null!).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => checkpoints.RetrieveIndexAsync("").AsTask());
    }

    [Theory]
    [InlineData("../valid_suffix")]
    [InlineData("prefix_\\/:*?\"<>|_suffix")]
    [InlineData("a session id with spaces and ünïcödé")]
    public async Task CreateCheckpointAsync_SessionIdThatIsNoRunId_KeepsSessionsApart(string sessionId)
    {
        var checkpoints = new DurablyCheckpointStore(await OpenAsync());
        var info = await checkpoints.CreateCheckpointAsync(sessionId, Data("odd"));
        var plain = await checkpoints.CreateCheckpointAsync("plain", Data("plain"));

        Assert.Equal([info], await new DurablyCheckpointStore(await OpenAsync()).RetrieveIndexAsync(sessionId));
        Assert.Equal("odd", (await checkpoints.RetrieveCheckpointAsync(sessionId, info)).GetString());
        Assert.Equal([plain], await checkpoints.RetrieveIndexAsync("plain"));
        Assert.StartsWith("wfcp@", DurablyCheckpointStore.GetRunId(sessionId).Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateCheckpointAsync_TwoWritersOnOneSession_BothKeptInCommitOrder()
    {
        // Two store instances over their own connections, as two processes would be.
        var one = new DurablyCheckpointStore(await OpenAsync());
        var two = new DurablyCheckpointStore(await OpenAsync());

        var a = await one.CreateCheckpointAsync("shared", Data("a"));
        var b = await two.CreateCheckpointAsync("shared", Data("b"), a);
        var c = await one.CreateCheckpointAsync("shared", Data("c"), b);

        Assert.Equal([a, b, c], await one.RetrieveIndexAsync("shared"));
        Assert.Equal([a, b, c], await two.RetrieveIndexAsync("shared"));
        Assert.Equal("b", (await one.RetrieveCheckpointAsync("shared", b)).GetString());
        Assert.Equal([c], await two.RetrieveIndexAsync("shared", b));
    }

    [Fact]
    public async Task CreateCheckpointAsync_ConcurrentCallers_LoseNothing()
    {
        var checkpoints = new DurablyCheckpointStore(await OpenAsync());
        var other = new DurablyCheckpointStore(await OpenAsync());

        var created = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            (i % 2 == 0 ? checkpoints : other).CreateCheckpointAsync("busy", Data(i)).AsTask()));

        var index = (await checkpoints.RetrieveIndexAsync("busy")).ToArray();
        Assert.Equal(created.OrderBy(c => c.CheckpointId), index.OrderBy(c => c.CheckpointId));
        foreach (var info in created)
        {
            Assert.Equal(JsonValueKind.Number, (await other.RetrieveCheckpointAsync("busy", info)).ValueKind);
        }
    }

    [Fact]
    public async Task CheckpointRun_IsNeverClaimedAndVerifiesClean()
    {
        var journal = await OpenAsync();
        await new DurablyCheckpointStore(journal).CreateCheckpointAsync("s1", Data(1));
        var runId = DurablyCheckpointStore.GetRunId("s1");

        var run = await journal.GetRunAsync(runId);
        var claimed = await journal.ClaimRunsAsync(new ClaimRequest { Owner = "worker-1", MaxRuns = 100 });

        Assert.NotNull(run);
        Assert.Equal(DurablyCheckpointStore.WorkflowName, run.Workflow);
        Assert.Equal(Durably.Storage.RunStatus.Suspended, run.Status);
        Assert.DoesNotContain(claimed, lease => lease.RunId == runId);
        Assert.Empty(JournalVerifier.Check(run, await journal.ReadAsync(runId)));
    }

    [Fact]
    public async Task CreateCheckpointAsync_LargerThanTheCodecAllows_ThrowsAndWritesNothing()
    {
        var checkpoints = new DurablyCheckpointStore(await OpenAsync());
        var kept = await checkpoints.CreateCheckpointAsync("s1", Data("small"));

        await Assert.ThrowsAsync<PayloadTooLargeException>(() => checkpoints.CreateCheckpointAsync("s1", Data(new string('x', 2 << 20)), kept).AsTask());

        Assert.Equal([kept], await new DurablyCheckpointStore(await OpenAsync()).RetrieveIndexAsync("s1"));
    }

    [Fact]
    public async Task CompleteSessionAsync_ThenPurge_DeletesOnlyThatSession()
    {
        var journal = await OpenAsync();
        var checkpoints = new DurablyCheckpointStore(journal);
        var done = await checkpoints.CreateCheckpointAsync("done", Data(1));
        var open = await checkpoints.CreateCheckpointAsync("open", Data(2));

        Assert.True(await checkpoints.CompleteSessionAsync("done"));
        Assert.False(await checkpoints.CompleteSessionAsync("done"));
        Assert.False(await checkpoints.CompleteSessionAsync("never-started"));
        Assert.Equal(1, (await checkpoints.RetrieveCheckpointAsync("done", done)).GetInt32());   // readable until purged
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => new DurablyCheckpointStore(journal).CreateCheckpointAsync("done", Data(3)).AsTask());
        Assert.Contains("new session id", refused.Message, StringComparison.Ordinal);

        await journal.PurgeRunsAsync(new PurgeRequest { Statuses = [Durably.Storage.RunStatus.Completed], FinishedBefore = DateTimeOffset.UtcNow.AddMinutes(1) });

        var fresh = new DurablyCheckpointStore(await OpenAsync());
        Assert.Empty(await fresh.RetrieveIndexAsync("done"));
        Assert.Equal([open], await fresh.RetrieveIndexAsync("open"));
    }

    [Fact]
    public async Task CreateCheckpointAsync_RunIdTakenByAnotherWorkflow_ThrowsNamingIt()
    {
        var journal = await OpenAsync();
        var runId = DurablyCheckpointStore.GetRunId("taken");
        await journal.AppendAsync(new RunAppend(runId, 0, [new Journal.RunStarted { Timestamp = DateTimeOffset.UnixEpoch, Workflow = "billing" }]));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new DurablyCheckpointStore(journal).CreateCheckpointAsync("taken", Data(1)).AsTask());

        Assert.Contains("billing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workflow_CheckpointedThroughTheFramework_ChainsParentsAndResumes()
    {
        // The framework's own runtime writes through the store: a looping workflow, as in its CheckpointParentTests.
        var manager = CheckpointManager.CreateJson(new DurablyCheckpointStore(await OpenAsync()));
        var workflow = Loop();
        List<CheckpointInfo> first;
        await using (var run = await InProcessExecution.RunStreamingAsync(workflow, "hello", manager, "loop"))
        {
            first = await CollectAsync(run, 3);
        }

        // A fresh manager over a second connection, as a new process would have, resumes from the first checkpoint.
        var resumedManager = CheckpointManager.CreateJson(new DurablyCheckpointStore(await OpenAsync()));
        List<CheckpointInfo> resumed;
        await using (var run = await InProcessExecution.ResumeStreamingAsync(workflow, first[0], resumedManager))
        {
            resumed = await CollectAsync(run, 1);
        }

        // The parent links the framework passed in, read back through the index's parent filter.
        var store = new DurablyCheckpointStore(await OpenAsync());
        var all = (await store.RetrieveIndexAsync("loop")).ToArray();
        var children = new Dictionary<CheckpointInfo, CheckpointInfo[]>();
        foreach (var checkpoint in all)
        {
            children[checkpoint] = [.. await store.RetrieveIndexAsync("loop", checkpoint)];
        }

        // The first run may write more checkpoints between the cancellation and its disposal; they chain after first[2].
        Assert.Equal(first, all.Take(3));
        Assert.DoesNotContain(children.Values, c => c.Contains(first[0]));   // the first checkpoint has no parent
        Assert.Equal([first[1], resumed[0]], children[first[0]]);           // the resumed run continues from first[0]
        Assert.Equal([first[2]], children[first[1]]);
        Assert.Equal(all[^1], await resumedManager.GetLatestCheckpointAsync("loop"));
    }

    private static Workflow Loop()
    {
        Func<string, string> forward = message => message;
        var a = forward.BindAsExecutor<string, string>("A");
        var b = forward.BindAsExecutor<string, string>("B");
        return new WorkflowBuilder(a).AddEdge(a, b).AddEdge(b, a).Build();
    }

    private static async Task<List<CheckpointInfo>> CollectAsync(StreamingRun run, int count)
    {
        var checkpoints = new List<CheckpointInfo>();
        using var stop = new CancellationTokenSource();
        try
        {
            await foreach (var evt in run.WatchStreamAsync(stop.Token))
            {
                if (evt is SuperStepCompletedEvent { CompletionInfo.Checkpoint: { } checkpoint })
                {
                    checkpoints.Add(checkpoint);
                    if (checkpoints.Count >= count)
                    {
                        await stop.CancelAsync();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        return checkpoints;
    }
}
