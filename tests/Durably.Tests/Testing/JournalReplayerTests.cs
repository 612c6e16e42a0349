using Durably.Codecs;
using Durably.Journal;
using Durably.Storage;
using Durably.Testing;
using Durably.Tests.Runtime;
using Xunit.Sdk;

namespace Durably.Tests.Testing;

public sealed class JournalReplayerTests
{
    private static readonly RunId Id = new("prod-run-42");

    // Version 1 of a workflow, as deployed when the journals were recorded.
    private static void V1(DurableRuntime runtime, FakeOutside world) => runtime.Register<string, string>("onboard", async (ctx, user) =>
    {
        var account = await ctx.StepAsync("create-account", step => world.ApplyAsync($"account {user}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        var approval = await ctx.WaitForApprovalAsync("activate");
        await ctx.StepAsync("send-welcome", step => world.ApplyAsync($"welcome {user}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        return $"{account}; approved={approval.Approved}";
    });

    // Version 2 renames a step: runs in flight would fail on it.
    private static void V2Renamed(DurableRuntime runtime, FakeOutside world) => runtime.Register<string, string>("onboard", async (ctx, user) =>
    {
        var account = await ctx.StepAsync("open-account", step => world.ApplyAsync($"account {user}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        await ctx.WaitForApprovalAsync("activate");
        return account;
    });

    // Version 3 adds a step at the end: finished runs would not replay to their end.
    private static void V3Extra(DurableRuntime runtime, FakeOutside world) => runtime.Register<string, string>("onboard", async (ctx, user) =>
    {
        var account = await ctx.StepAsync("create-account", step => world.ApplyAsync($"account {user}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        var approval = await ctx.WaitForApprovalAsync("activate");
        await ctx.StepAsync("send-welcome", step => world.ApplyAsync($"welcome {user}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        await ctx.StepAsync("add-to-newsletter", step => world.ApplyAsync($"newsletter {user}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        return $"{account}; approved={approval.Approved}";
    });

    // Records a production journal with V1: finished (approved) or in flight (waiting for the approval).
    private static async Task<ExportedJournal> RecordAsync(bool finish, IPayloadCodec? codec = null)
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => V1(r, new FakeOutside()), o => codec is null ? o : new DurableRuntimeOptions { WorkerId = o.WorkerId, PollInterval = o.PollInterval, Codec = codec });
        await runtime.Client.StartAsync("onboard", "ana", new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        if (finish)
        {
            await runtime.Client.ApproveAsync(new ApprovalRequest(Id, "activate", "ops"));
            await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout);
        }

        using var export = new MemoryStream();
        await JournalExport.ExportAsync(harness.Store, Id, export);
        export.Position = 0;
        return Assert.Single(await JournalExport.ReadAsync(export));
    }

    [Fact]
    public async Task ReplayAsync_FinishedJournalSameCode_MatchesWithoutRunningAnyEffect()
    {
        var journal = await RecordAsync(finish: true);
        var world = new FakeOutside();

        var result = await JournalReplayer.ReplayAsync(journal, r => V1(r, world));

        Assert.Equal(ReplayVerdict.Matched, result.Verdict);
        Assert.Equal(3, result.StepsReplayed);
        Assert.Equal(0, world.Calls);
    }

    [Fact]
    public async Task ReplayAsync_StepRenamed_DivergesNamingBothSteps()
    {
        var result = await JournalReplayer.ReplayAsync(await RecordAsync(finish: false), r => V2Renamed(r, new FakeOutside()));

        Assert.Equal(ReplayVerdict.Diverged, result.Verdict);
        Assert.Equal(new NonDeterminismInfo(1, "effect step 'create-account'", "effect step 'open-account'", result.NonDeterminism!.Message), result.NonDeterminism);
    }

    [Fact]
    public async Task ReplayAsync_FinishedJournalCodeAddsAStep_DivergesAndNeverRunsIt()
    {
        var world = new FakeOutside();

        var result = await JournalReplayer.ReplayAsync(await RecordAsync(finish: true), r => V3Extra(r, world));

        Assert.Equal(ReplayVerdict.Diverged, result.Verdict);
        Assert.Contains("The journal ends with the run's completion, but the code would write step 4 'add-to-newsletter' (effect)", result.Message, StringComparison.Ordinal);
        Assert.Equal(0, world.Calls);
    }

    [Fact]
    public async Task ReplayAsync_RunInFlightWithNewStepAfterItsEnd_ReachesTheEndAndStops()
    {
        var world = new FakeOutside();

        var waiting = await JournalReplayer.ReplayAsync(await RecordAsync(finish: false), r => V3Extra(r, world));

        Assert.Equal(ReplayVerdict.ReachedEndOfJournal, waiting.Verdict);
        Assert.Contains("waits", waiting.Message, StringComparison.Ordinal);
        Assert.Equal(0, world.Calls);
    }

    [Fact]
    public async Task ReplayAsync_JournalCutAfterAStep_ReachesTheEndWithoutRunningTheNextEffect()
    {
        var journal = await RecordAsync(finish: true);
        var cut = journal with { Entries = [.. journal.Entries.TakeWhile(e => e is not StepStarted { Name: "send-welcome" })] };
        var world = new FakeOutside();

        var result = await JournalReplayer.ReplayAsync(cut, r => V1(r, world));

        Assert.Equal(ReplayVerdict.ReachedEndOfJournal, result.Verdict);
        Assert.Contains("step 3 'send-welcome' (effect)", result.Message, StringComparison.Ordinal);
        Assert.Equal(0, world.Calls);
    }

    [Fact]
    public async Task ReplayAsync_EncryptedJournal_ReplaysWithTheProductionCodec()
    {
        var codec = JsonPayloadCodec.Default.WithEncryption(PayloadKeyRing.Single("prod", new byte[32]));
        var journal = await RecordAsync(finish: true, codec);

        var result = await JournalReplayer.ReplayAsync(journal, r => V1(r, new FakeOutside()), new ReplayOptions { Codec = codec });

        Assert.Equal(ReplayVerdict.Matched, result.Verdict);
    }

    [Fact]
    public async Task AssertReplaysAsync_ExportFileAndBreakingChange_FailsListingTheRun()
    {
        var path = Path.Combine(Path.GetTempPath(), $"durably-export-{Guid.NewGuid():N}.jsonl");
        try
        {
            await using (var file = File.Create(path))
            {
                await JournalExport.WriteAsync(file, Id, (await RecordAsync(finish: false)).Entries);
            }

            await JournalReplayer.AssertReplaysAsync(path, r => V1(r, new FakeOutside()));
            var ex = await Assert.ThrowsAsync<XunitException>(() => JournalReplayer.AssertReplaysAsync(path, r => V2Renamed(r, new FakeOutside())));

            Assert.Contains("1 of 1 journal(s)", ex.Message, StringComparison.Ordinal);
            Assert.Contains("run 'prod-run-42' (onboard)", ex.Message, StringComparison.Ordinal);
            Assert.Contains("the journal holds effect step 'create-account', but the code asked for effect step 'open-account'", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
