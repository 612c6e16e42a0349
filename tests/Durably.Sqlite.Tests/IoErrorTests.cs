using Durably.Journal;
using Durably.Storage;
using Durably.TestHost;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// I/O errors injected at the writer's fault points: while the batch's pages are written (before COMMIT), in COMMIT
// (where SQLite syncs the WAL) and after COMMIT returned (the sync reported failed once SQLite had committed).
// The store never acknowledges what it could not make durable; an error before COMMIT leaves nothing and the store
// carries on; an error in or after COMMIT leaves the commit in doubt and stops the store until it is reopened.
public sealed class IoErrorTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 7;
    private readonly TempFolder _folder = new();
    private readonly InjectedFault _fault = new();

    private string StorePath => _folder.File("journal.db");

    public static TheoryData<string> Errors() => ["sqlite", "io"];

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task AppendAsync_IoErrorWhileWriting_FailsThatAppendOnlyAndLeavesNothingOnDisk(string error)
    {
        await using (var store = await OpenAsync())
        {
            await AppendAsync(store, run: 0, seq: 0);
            _fault.Arm(SqliteFaultPoint.Write, error);

            var ex = await Assert.ThrowsAnyAsync<JournalStoreException>(() => AppendAsync(store, run: 0, seq: 1));

            output.WriteLine(ex.Message);
            Assert.IsNotType<JournalStoreFailedException>(ex);
            Assert.Contains("I/O error", ex.Message, StringComparison.Ordinal);
            Assert.Contains(StorePath, ex.Message, StringComparison.Ordinal);
            Assert.Equal(StorePath, ex.StoreLocation);

            // Nothing of the failed batch was committed, so the store goes on: the same sequence is free.
            await AppendAsync(store, run: 0, seq: 1);
            await AppendAsync(store, run: 1, seq: 0);
        }

        await using var reopened = await OpenAsync();
        Assert.Equal(Expected(0, 2), await reopened.ReadAsync(CrashWorkload.RunIdOf(Seed, 0)));
        Assert.Equal(Expected(1, 1), await reopened.ReadAsync(CrashWorkload.RunIdOf(Seed, 1)));
    }

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task AppendAsync_IoErrorInCommit_FailsInDoubtRefusesLaterWritesAndReopenShowsNoCommit(string error)
    {
        await using (var store = await OpenAsync())
        {
            await AppendAsync(store, run: 0, seq: 0);
            await AppendAsync(store, run: 1, seq: 0);
            _fault.Arm(SqliteFaultPoint.Commit, error);

            var ex = await Assert.ThrowsAsync<JournalStoreFailedException>(() => AppendAsync(store, run: 0, seq: 1));

            output.WriteLine(ex.Message);
            Assert.Contains("may or may not be in the journal", ex.Message, StringComparison.Ordinal);
            Assert.Contains("open the file again", ex.Message, StringComparison.Ordinal);
            Assert.Equal(StorePath, ex.StoreLocation);
            await AssertStoppedAsync(store);
        }

        // SQLite rolled the commit back in this process, and nothing of it reached the file.
        await using var reopened = await OpenAsync();
        Assert.Equal(Expected(0, 1), await reopened.ReadAsync(CrashWorkload.RunIdOf(Seed, 0)));
        Assert.Equal(Expected(1, 1), await reopened.ReadAsync(CrashWorkload.RunIdOf(Seed, 1)));
        await AppendAsync(reopened, run: 0, seq: 1);
        Assert.Equal(Expected(0, 2), await reopened.ReadAsync(CrashWorkload.RunIdOf(Seed, 0)));
    }

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task AppendAsync_IoErrorOnSyncAfterCommit_FailsInDoubtAndReopenShowsTheCommitHonestly(string error)
    {
        await using (var store = await OpenAsync())
        {
            await AppendAsync(store, run: 0, seq: 0);
            _fault.Arm(SqliteFaultPoint.Sync, error);

            var ex = await Assert.ThrowsAsync<JournalStoreFailedException>(() => AppendAsync(store, run: 0, seq: 1));

            output.WriteLine(ex.Message);
            Assert.Contains("may or may not be in the journal", ex.Message, StringComparison.Ordinal);
            await AssertStoppedAsync(store);
        }

        // SQLite had committed before the sync was reported failed: the entry is there, which the error allowed for.
        // It was never acknowledged, so a writer reads the run before going on, as the error says and the runtime does.
        await using var reopened = await OpenAsync();
        var journal = await reopened.ReadAsync(CrashWorkload.RunIdOf(Seed, 0));
        Assert.Equal(Expected(0, 2), journal);
        await AppendAsync(reopened, run: 0, seq: journal.Count);
    }

    [Theory]
    [InlineData("Write")]
    [InlineData("Commit")]
    [InlineData("Sync")]
    public async Task AppendAsync_IoErrorUnderConcurrentLoad_EveryAcknowledgedEntrySurvivesAndNothingElseButTheDoubtfulBatch(string at)
    {
        var point = Enum.Parse<SqliteFaultPoint>(at);
        const int Runs = 16;
        var acknowledged = new long[Runs];
        var inDoubt = new long[Runs];
        Array.Fill(acknowledged, -1);
        Array.Fill(inDoubt, -1);
        var failures = new List<Exception>[Runs];
        await using (var store = await OpenAsync())
        {
            // Every run appends in turn until its first failure; the fault fires on the 40th batch the writer commits.
            _fault.Arm(point, "sqlite", afterBatches: 40);
            await Task.WhenAll(Enumerable.Range(0, Runs).Select(run => Task.Run(async () =>
            {
                failures[run] = [];
                for (long seq = 0; seq < 60; seq++)
                {
                    try
                    {
                        await AppendAsync(store, run, seq);
                        acknowledged[run] = seq;
                    }
                    catch (JournalStoreException ex)
                    {
                        failures[run].Add(ex);
                        if (ex is JournalStoreFailedException && ex.InnerException is not JournalStoreFailedException)
                        {
                            inDoubt[run] = seq;
                        }

                        if (point == SqliteFaultPoint.Write)
                        {
                            // Nothing was written; the same append may be tried again.
                            seq--;
                            continue;
                        }

                        return;
                    }
                }
            })));

            Assert.True(_fault.Fired, "The fault never fired; the test did not exercise it.");
            Assert.Contains(failures, f => f.Count > 0);
            if (point != SqliteFaultPoint.Write)
            {
                // Every run ended in a failure: the store refused all writes after the doubtful commit.
                Assert.All(failures, f => Assert.IsType<JournalStoreFailedException>(Assert.Single(f)));
                Assert.Contains(inDoubt, s => s >= 0);
            }
            else
            {
                Assert.All(acknowledged, last => Assert.Equal(59, last));
            }
        }

        output.WriteLine($"acknowledged: {string.Join(' ', acknowledged)}; in doubt: {string.Join(' ', inDoubt)}");
        await using var reopened = await OpenAsync();
        for (var run = 0; run < Runs; run++)
        {
            var runId = CrashWorkload.RunIdOf(Seed, run);
            var journal = await reopened.GetRunAsync(runId) is null ? [] : await reopened.ReadAsync(runId);
            var present = journal.Count - 1;

            // Every acknowledged append is there, intact; beyond it at most the append whose commit was in doubt,
            // and only when SQLite had committed it (the error after COMMIT).
            var allowed = point == SqliteFaultPoint.Sync && inDoubt[run] >= 0 ? inDoubt[run] : acknowledged[run];
            Assert.InRange(present, acknowledged[run], allowed);
            Assert.Equal(Expected(run, journal.Count), journal);
        }
    }

    [Fact]
    public async Task Runtime_IoErrorOnSyncMidRun_StopsTheRunAndFinishesItOnceTheStoreIsReopened()
    {
        const int Steps = 6;
        var runId = new RunId("sync-failure");
        var applied = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        void Register(DurableRuntime runtime) => runtime.Register<int, int>("effects", async (ctx, steps) =>
        {
            var total = 0;
            for (var i = 1; i <= steps; i++)
            {
                var step = i;
                total += await ctx.StepAsync($"effect-{step}", s =>
                {
                    // The target deduplicates by idempotency key, as the Retry in-doubt policy requires.
                    applied.AddOrUpdate(s.IdempotencyKey, 1, (_, n) => n + 1);
                    return Task.FromResult(step);
                }, StepOptions.IdempotentEffect);
            }

            return total;
        });

        var options = new DurableRuntimeOptions { WorkerId = "sync-host", PollInterval = TimeSpan.FromMilliseconds(50), LeaseDuration = TimeSpan.FromSeconds(1), DefaultRetry = RetryPolicy.None };
        var store = new CountingStore(await OpenAsync());
        await using (store)
        {
            await using var runtime = new DurableRuntime(store, options);
            Register(runtime);
            await runtime.StartAsync();

            // A few commits into the run a sync fails: that commit is in doubt, and from then on the store refuses every write.
            _fault.Arm(SqliteFaultPoint.Sync, "sqlite", afterBatches: 5);
            await runtime.Client.StartAsync("effects", Steps, new StartRunOptions { RunId = runId });
            var failure = await store.FirstFailure.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.IsType<JournalStoreFailedException>(failure);

            var before = store.Snapshot();
            await Task.Delay(TimeSpan.FromSeconds(1));
            var during = CountingStore.Between(before, store.Snapshot());
            output.WriteLine($"store calls in 1 s after the failure: {CountingStore.Describe(during)}");
            Assert.InRange(during.GetValueOrDefault(nameof(IJournalStore.AppendAsync)), 0, 2);
            Assert.InRange(during.Values.Sum(), 0, 60);
            Assert.All(store.Failures, f => Assert.IsType<JournalStoreFailedException>(f));
            Assert.False((await store.GetRunAsync(runId))!.Status.IsFinished());
        }

        // The host reopens the store (a restart does the same): the run goes on from what reached the disk.
        await using (var reopened = await OpenAsync())
        {
            await using var runtime = new DurableRuntime(reopened, options);
            Register(runtime);
            await runtime.StartAsync();
            Assert.Equal(Enumerable.Range(1, Steps).Sum(), await runtime.Client.GetResultAsync<int>(runId, new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token));
            var journal = await reopened.ReadAsync(runId);
            Assert.Equal(Enumerable.Range(1, Steps), journal.OfType<StepCompleted>().Select(c => c.Step));
        }

        // Each effect applied at least once; only the one in doubt when the store stopped may have run twice.
        Assert.Equal(Steps, applied.Count);
        Assert.InRange(applied.Values.Count(n => n > 1), 0, 1);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    private static IReadOnlyList<JournalEntry> Expected(int run, int count)
        => [.. Enumerable.Range(0, count).Select(seq => CrashWorkload.EntryAt(Seed, run, seq))];

    private static Task AppendAsync(IJournalStore store, int run, long seq)
        => store.AppendAsync(new RunAppend(CrashWorkload.RunIdOf(Seed, run), seq, [CrashWorkload.EntryAt(Seed, run, seq)])).AsTask();

    // After a doubtful commit every write is refused with an error that says to reopen; reads still work.
    private async Task AssertStoppedAsync(SqliteJournalStore store)
    {
        var runId = CrashWorkload.RunIdOf(Seed, 0);
        var writes = new Func<Task>[]
        {
            () => AppendAsync(store, run: 5, seq: 0),
            () => store.DeliverSignalAsync(runId, new SignalMessage("nudge", null)),
            () => store.ClaimRunsAsync(new ClaimRequest { Owner = "w", MaxRuns = 1, LeaseDuration = TimeSpan.FromMinutes(1) }),
            () => store.TryClaimRunAsync(runId, "w", TimeSpan.FromMinutes(1)),
        };
        foreach (var write in writes)
        {
            var refused = await Assert.ThrowsAsync<JournalStoreFailedException>(write);
            Assert.Contains("stopped accepting writes", refused.Message, StringComparison.Ordinal);
            Assert.Contains("open the file again", refused.Message, StringComparison.Ordinal);
            Assert.Equal(StorePath, refused.StoreLocation);
        }

        Assert.Equal(CrashWorkload.EntryAt(Seed, 0, 0), (await store.ReadAsync(runId))[0]);
    }

    private Task<SqliteJournalStore> OpenAsync() => SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = StorePath, FaultInjector = _fault.Inject });

    // Throws once at the armed point, as SQLite reports a failed write or sync (SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC)
    // or as a file system call would (IOException).
    private sealed class InjectedFault
    {
        private readonly Lock _gate = new();
        private SqliteFaultPoint? _point;
        private string _kind = "sqlite";
        private int _skip;

        public bool Fired { get; private set; }

        public void Arm(SqliteFaultPoint point, string kind, int afterBatches = 0)
        {
            lock (_gate)
            {
                (_point, _kind, _skip, Fired) = (point, kind, afterBatches, false);
            }
        }

        public void Inject(SqliteFaultPoint point)
        {
            lock (_gate)
            {
                if (_point != point || _skip-- > 0)
                {
                    return;
                }

                _point = null;
                Fired = true;
            }

            throw _kind == "io"
                ? new IOException("Input/output error")
                : point == SqliteFaultPoint.Write
                    ? new SqliteException("disk I/O error", 10, 778)
                    : new SqliteException("disk I/O error", 10, 1034);
        }
    }
}
