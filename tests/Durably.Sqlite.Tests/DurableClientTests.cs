using Durably.Journal;
using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite.Tests;

// What a caller that is not a host relies on: a DurableClient over nothing but the store (a real journal file) starts
// runs, reads them and delivers every control verb; a worker over the same file executes them.
public sealed class DurableClientTests : IAsyncLifetime
{
    private static readonly RunId Id = new("client-run");
    private readonly TempFolder _folder = new();
    private SqliteJournalStore _store = null!;
    private DurableRuntime? _worker;

    public async Task InitializeAsync() => _store = await SqliteJournalStore.OpenAsync(_folder.File("journal.db"));

    public async Task DisposeAsync()
    {
        if (_worker is not null)
        {
            await _worker.DisposeAsync();
        }

        await _store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    [Fact]
    public async Task StartAsync_ByName_StartsOnceAndTheWorkerExecutesTheRun()
    {
        await StartWorkerAsync(r => r.Register<string, string>("greet", (_, name) => Task.FromResult($"hello {name}")));
        var client = NewClient();

        var first = await client.StartAsync("greet", "Ana", new StartRunOptions { RunId = Id });
        var again = await client.StartAsync("greet", "Bo", new StartRunOptions { RunId = Id });

        Assert.True(first.IsNew);
        Assert.False(again.IsNew);
        Assert.Equal("hello Ana", await first.GetResultAsync<string>(Timeout()));
        Assert.Equal(RunStatus.Completed, (await client.GetStatusAsync(Id)).Status);
        Assert.Equal("greet", (await again.GetTimelineAsync()).Workflow);
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.StartAsync("other", 1, new StartRunOptions { RunId = Id }));
    }

    [Fact]
    public async Task SignalAsync_Request_DeliversPayloadAndSenderDurably()
    {
        await StartWorkerAsync(r => r.Register<string, string>("titled", async (ctx, name) => $"{await ctx.WaitForSignalAsync<string>("title")} {name}"));
        var client = NewClient();
        var run = await client.StartAsync("titled", "Ana", new StartRunOptions { RunId = Id });

        var delivered = await client.SignalAsync(new SignalRequest(Id, "title") { Payload = "Dr.", Sender = "ops" });

        Assert.Equal(("title", "ops"), (delivered.Name, delivered.Sender));
        Assert.Equal("Dr. Ana", await run.GetResultAsync<string>(Timeout()));
        var received = (await _store.ReadAsync(Id, 0)).OfType<SignalReceived>().Single();
        Assert.Equal(("title", "ops"), (received.Name, received.Sender));
    }

    [Theory]
    [InlineData(true, "approved by maria: ship it")]
    [InlineData(false, "rejected by maria: not yet")]
    public async Task ApproveAsync_ApprovesOrRejectsWithApproverAndComment(bool approved, string expected)
    {
        await StartWorkerAsync(r => r.Register<int, string>("gated", async (ctx, _) =>
        {
            var decision = await ctx.WaitForApprovalAsync("publish");
            return $"{(decision.Approved ? "approved" : "rejected")} by {decision.Approver}: {decision.Comment}";
        }));
        var client = NewClient();
        var run = await client.StartAsync("gated", 0, new StartRunOptions { RunId = Id });
        await WaitForStatusAsync(client, RunStatus.Suspended);

        Assert.Single(await client.ListPendingApprovalsAsync(new PendingApprovalQuery { Workflow = "gated" }), p => p.RunId == Id && p.Gate == "publish");
        await client.ApproveAsync(new ApprovalRequest(Id, "publish", "maria") { Approved = approved, Comment = approved ? "ship it" : "not yet" });

        Assert.Equal(expected, await run.GetResultAsync<string>(Timeout()));
        Assert.Empty(await client.ListPendingApprovalsAsync());
    }

    [Fact]
    public async Task CancelAsync_Request_EndsTheRunCancelledWithTheReason()
    {
        await StartWorkerAsync(r => r.Register<int, int>("forever", (ctx, _) => ctx.WaitForSignalAsync<int>("never")));
        var client = NewClient();
        var run = await client.StartAsync("forever", 0, new StartRunOptions { RunId = Id });
        await WaitForStatusAsync(client, RunStatus.Suspended);

        await client.CancelAsync(new CancelRequest(Id) { Reason = "customer changed plans" });

        var failed = await Assert.ThrowsAsync<RunFailedException>(() => run.GetResultAsync<int>(Timeout()));
        Assert.Equal(RunStatus.Cancelled, failed.Status);
        Assert.Equal("customer changed plans", (await _store.ReadAsync(Id, 0)).OfType<RunCancelled>().Single().Reason);
    }

    [Fact]
    public async Task ResolveInDoubtAsync_Request_CompletesTheStepWithTheGivenResult()
    {
        // A journal whose effect step has its intent and no outcome, as a crash inside the step leaves it.
        await _store.AppendAsync(new RunAppend(Id, 0,
        [
            new RunStarted { Workflow = "send", WorkflowVersion = 1, Timestamp = DateTimeOffset.UtcNow },
            new StepStarted { Sequence = 1, Step = 1, Kind = StepKind.Effect, Name = "send-email", InDoubt = InDoubtPolicy.AskHuman },
        ]) { Status = RunStatus.Pending });
        var sent = 0;
        await StartWorkerAsync(r => r.Register<int, string>("send", (ctx, _) => ctx.StepAsync("send-email", _ => Task.FromResult($"sent {++sent}"), new StepOptions { Kind = StepKind.Effect })));
        var client = NewClient();
        var waiting = await WaitForStatusAsync(client, RunStatus.Suspended);
        Assert.Contains("in-doubt: step 1", waiting.StatusDetail, StringComparison.Ordinal);

        await client.ResolveInDoubtAsync(new ResolveRequest(Id, 1, InDoubtResolution.Done(Payload.FromJson("\"sent by hand\"")), "ana"));

        Assert.Equal("sent by hand", await client.GetResultAsync<string>(Id, Timeout()));
        Assert.Equal(0, sent);
        Assert.Equal("ana", (await _store.ReadAsync(Id, 0)).OfType<StepCompleted>().Single().ResolvedBy);
    }

    [Fact]
    public async Task ForkAsync_Request_ReExecutesFromTheStepAfterTheForkPoint()
    {
        var calls = 0;
        await StartWorkerAsync(r => r.Register<int, int>("count", async (ctx, _) =>
        {
            var a = await ctx.StepAsync("a", _ => Task.FromResult(Interlocked.Increment(ref calls)));
            var b = await ctx.StepAsync("b", _ => Task.FromResult(Interlocked.Increment(ref calls)));
            return (a * 10) + b;
        }));
        var client = NewClient();
        Assert.Equal(12, await (await client.StartAsync("count", 0, new StartRunOptions { RunId = Id })).GetResultAsync<int>(Timeout()));

        var fork = await client.ForkAsync(new ForkRequest(Id, 1) { NewRunId = new RunId("client-fork") });

        Assert.Equal(new RunId("client-fork"), fork.RunId);
        Assert.Equal(13, await fork.GetResultAsync<int>(Timeout()));
        Assert.Equal(3, calls);
        await Assert.ThrowsAsync<JournalConcurrencyException>(() => client.ForkAsync(new ForkRequest(Id, 1) { NewRunId = new RunId("client-fork") }));
    }

    [Fact]
    public async Task StartAsync_Typed_UsesTheClassNameVersionAndPatchesAndReturnsATypedHandle()
    {
        await StartWorkerAsync(r => r.Register(() => new ShoutWorkflow()));
        var client = NewClient();

        RunHandle<string> run = await client.StartAsync<ShoutWorkflow, string, string>("ana", new StartRunOptions { RunId = Id });

        Assert.Equal("ANA (patched)", await run.GetResultAsync(Timeout()));
        var timeline = await run.GetTimelineAsync();
        Assert.Equal(("shout", 3), (timeline.Workflow, timeline.WorkflowVersion));
    }

    [Fact]
    public async Task StartAsync_TypedWithoutParameterlessConstructor_WorksThroughTheRuntimesClientOnly()
    {
        await StartWorkerAsync(r => r.Register(() => new PrefixWorkflow(">")));

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => NewClient().StartAsync<PrefixWorkflow, string, string>("x"));
        var run = await _worker!.Client.StartAsync<PrefixWorkflow, string, string>("x", new StartRunOptions { RunId = Id });

        Assert.Contains("no public parameterless constructor", refused.Message, StringComparison.Ordinal);
        Assert.Contains("by name", refused.Message, StringComparison.Ordinal);
        Assert.Equal(">x", await run.GetResultAsync(Timeout()));
    }

    [Fact]
    public async Task RuntimeClient_StartByUnknownName_ThrowsWorkflowNotFound()
    {
        await StartWorkerAsync(r => r.Register<int, int>("known", (_, i) => Task.FromResult(i)));

        await Assert.ThrowsAsync<WorkflowNotFoundException>(() => _worker!.Client.StartAsync("unknown", 1));
        Assert.Empty((await _store.ListRunsAsync(new RunQuery())).Runs);
    }

    [Theory]
    [InlineData("$cancel", "CancelAsync")]
    [InlineData("$resolve:1", "ResolveInDoubtAsync")]
    [InlineData("approval:publish", "ApproveAsync")]
    [InlineData("$anything", "reserved")]
    public async Task SignalAsync_ReservedName_ThrowsArgumentExceptionAndDeliversNothing(string name, string hint)
    {
        await StartWorkerAsync(r => r.Register<int, int>("forever", (ctx, _) => ctx.WaitForSignalAsync<int>("never")));
        var client = NewClient();
        await client.StartAsync("forever", 0, new StartRunOptions { RunId = Id });

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.SignalAsync(new SignalRequest(Id, name) { Payload = 1 }));

        Assert.Contains($"'{name}' is reserved", ex.Message, StringComparison.Ordinal);
        Assert.Contains(hint, ex.Message, StringComparison.Ordinal);
        Assert.Empty(await _store.ReadSignalsAsync(Id));
    }

    [Fact]
    public async Task WaitForSignalAsync_ReservedName_FailsTheRunWithTheReason()
    {
        await StartWorkerAsync(r => r.Register<int, int>("sneaky", (ctx, _) => ctx.WaitForSignalAsync<int>("approval:publish")));
        var client = NewClient();

        var run = await client.StartAsync("sneaky", 0, new StartRunOptions { RunId = Id });

        var failed = await Assert.ThrowsAsync<RunFailedException>(() => run.GetResultAsync<int>(Timeout()));
        Assert.Contains("'approval:publish' is reserved", failed.Message, StringComparison.Ordinal);
        Assert.Contains("WaitForApprovalAsync", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Queries_ListExportAndStatus_ReadTheStore()
    {
        await StartWorkerAsync(r => r.Register<int, int>("one", (ctx, i) => ctx.StepAsync("inc", _ => Task.FromResult(i + 1))));
        var client = NewClient();
        Assert.Equal(2, await (await client.StartAsync("one", 1, new StartRunOptions { RunId = Id })).GetResultAsync<int>(Timeout()));

        var page = await client.ListRunsAsync(new RunQuery { Workflow = "one" });
        using var export = new MemoryStream();
        await client.ExportJournalAsync(Id, export);
        export.Position = 0;

        Assert.Equal(Id, Assert.Single(page.Runs).RunId);
        Assert.Equal((await _store.ReadAsync(Id, 0)).Count, Assert.Single(await JournalExport.ReadAsync(export)).Entries.Count);
        await Assert.ThrowsAsync<RunNotFoundException>(() => client.GetStatusAsync(new RunId("missing")));
        await Assert.ThrowsAsync<RunNotFoundException>(() => client.GetRun(new RunId("missing")).GetResultAsync<int>(Timeout()));
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;

    // A standalone client: only the store, no worker in its reach.
    private DurableClient NewClient() => new(_store, new DurableClientOptions { PollInterval = TimeSpan.FromMilliseconds(20) });

    private async Task StartWorkerAsync(Action<DurableRuntime> register)
    {
        _worker = new DurableRuntime(_store, new DurableRuntimeOptions { WorkerId = "client-tests", PollInterval = TimeSpan.FromMilliseconds(50), DefaultRetry = RetryPolicy.None });
        register(_worker);
        await _worker.StartAsync();
    }

    private static async Task<RunRecord> WaitForStatusAsync(DurableClient client, RunStatus status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var run = await client.GetStatusAsync(Id);
            if (run.Status == status)
            {
                return run;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Run {Id} is {run.Status}, never {status}.");
            await Task.Delay(20);
        }
    }

    private sealed class ShoutWorkflow : Workflow<string, string>
    {
        public override string Name => "shout";

        public override WorkflowOptions Options => new() { Version = 3, Patches = ["loud"] };

        public override Task<string> RunAsync(RunContext context, string input)
            => Task.FromResult(input.ToUpperInvariant() + (context.IsPatched("loud") ? " (patched)" : string.Empty));
    }

    private sealed class PrefixWorkflow(string prefix) : Workflow<string, string>
    {
        public override Task<string> RunAsync(RunContext context, string input) => Task.FromResult(prefix + input);
    }
}
