using System.Collections.Concurrent;
using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;
using Durably.TestHost;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// The journal's disk fills up: appends fail with StoreFullException and nothing of them is written, the runtime
// backs off instead of retrying in a loop, and once there is space again the run finishes. The disk is a small
// tmpfs (SmallDisk), remounted bigger to free space; where mounting is not allowed SQLITE_FULL is injected instead.
public sealed class DiskFullTests(ITestOutputHelper output)
{
    private const int Seed = 11;

    [Fact]
    public async Task AppendAsync_DiskFull_ThrowsStoreFullAndReopenShowsExactlyTheAcknowledgedEntries()
    {
        const int Runs = 8;
        using var disk = new SmallDisk(kilobytes: 768);
        output.WriteLine(disk.Description);
        disk.FillAfter(batches: 40);
        var acknowledged = new long[Runs];
        Array.Fill(acknowledged, -1);
        var failures = new Exception?[Runs];
        await using (var store = await SqliteJournalStore.OpenAsync(disk.Options("journal.db")))
        {
            // Each run appends until its first failure; the entries (a few bytes to 40 kB) fill the disk.
            await Task.WhenAll(Enumerable.Range(0, Runs).Select(run => Task.Run(async () =>
            {
                for (long seq = 0; seq < 2000; seq++)
                {
                    try
                    {
                        await AppendAsync(store, run, seq);
                        acknowledged[run] = seq;
                    }
                    catch (Exception ex)
                    {
                        failures[run] = ex;
                        return;
                    }
                }
            })));

            output.WriteLine($"acknowledged: {string.Join(' ', acknowledged)}");
            Assert.All(failures, ex =>
            {
                var full = Assert.IsType<StoreFullException>(ex);
                Assert.Contains("is full", full.Message, StringComparison.Ordinal);
                Assert.Contains(disk.File("journal.db"), full.Message, StringComparison.Ordinal);
                Assert.Equal(disk.File("journal.db"), full.StoreLocation);
            });
            Assert.All(acknowledged, last => Assert.True(last >= 0, "A run failed before its first append; the disk filled too early to test anything."));

            // Still full: the store fails at once again rather than retrying by itself. (A smaller append than the ones
            // that failed may still fit: a group commit fails as a whole, so small appends failed with big ones.)
            var big = new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "too-big", Input = Payload.FromValue(new string('x', 400_000)) };
            await Assert.ThrowsAsync<StoreFullException>(() => store.AppendAsync(new RunAppend(new RunId("too-big"), 0, [big])).AsTask());
        }

        // Reopening a full disk either works or says clearly why not; it never loses what was acknowledged.
        var whileFull = await Record.ExceptionAsync(async () =>
        {
            await using var store = await SqliteJournalStore.OpenAsync(disk.Options("journal.db"));
            await AssertExactlyAcknowledgedAsync(store, acknowledged);
        });
        output.WriteLine($"reopened while full: {whileFull?.GetType().Name ?? "ok"} {whileFull?.Message}");
        Assert.True(whileFull is null or JournalStoreException, $"Reopening a full disk failed with {whileFull}");

        disk.Grow(kilobytes: 16 * 1024);
        await using var reopened = await SqliteJournalStore.OpenAsync(disk.Options("journal.db"));
        await AssertExactlyAcknowledgedAsync(reopened, acknowledged);

        // With space again, every run goes on at the append that failed.
        for (var run = 0; run < Runs; run++)
        {
            await AppendAsync(reopened, run, acknowledged[run] + 1);
        }

        await AssertExactlyAcknowledgedAsync(reopened, [.. acknowledged.Select(last => last + 1)]);
        Assert.Empty(await reopened.CheckIntegrityAsync());
    }

    [Fact]
    public async Task Runtime_DiskFullMidRun_BacksOffWithoutHotLoopAndCompletesOnceSpaceIsFreed()
    {
        const int Steps = 40;
        var leaseDuration = TimeSpan.FromSeconds(1);
        var window = TimeSpan.FromSeconds(3);
        var runId = new RunId("fill-1");
        using var disk = new SmallDisk(kilobytes: 512);
        output.WriteLine(disk.Description);
        disk.FillAfter(batches: 12);
        var bodies = new ConcurrentDictionary<string, int>();
        var store = new CountingStore(await SqliteJournalStore.OpenAsync(disk.Options("journal.db")));
        await using (store)
        {
            await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions
            {
                WorkerId = "full-disk-host",
                LeaseDuration = leaseDuration,
                PollInterval = TimeSpan.FromMilliseconds(100),
                DefaultRetry = RetryPolicy.None,
            });

            // Each step writes 30 kB, so the 512 kB disk fills a dozen steps in.
            runtime.Register<int, int>("fill", async (ctx, steps) =>
            {
                var total = 0;
                for (var i = 1; i <= steps; i++)
                {
                    var step = i;
                    total += (await ctx.StepAsync($"write-{step}", s =>
                    {
                        bodies.AddOrUpdate(s.IdempotencyKey, 1, (_, n) => n + 1);
                        return Task.FromResult(new string((char)('a' + (step % 26)), 30_000));
                    }, StepOptions.IdempotentEffect)).Length;
                }

                return total;
            });
            await runtime.StartAsync();
            var handle = await runtime.Client.StartAsync("fill", Steps, new StartRunOptions { RunId = runId });

            var first = await store.FirstFailure.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.IsType<StoreFullException>(first);

            // The point is what the runtime does over a stretch of time on a full disk, so the test lets time pass.
            var before = store.Snapshot();
            await Task.Delay(window);
            var during = CountingStore.Between(before, store.Snapshot());
            output.WriteLine($"store calls in {window.TotalSeconds} s on the full disk: {CountingStore.Describe(during)}");

            // A run is tried again once its lease expires, and each try stops at its first failed append; claims come
            // once per poll. A hot loop would make thousands of calls in that time.
            var leasePeriods = (int)Math.Ceiling(window / leaseDuration) + 1;
            Assert.InRange(during.GetValueOrDefault(nameof(IJournalStore.AppendAsync)), 0, leasePeriods * 2);
            Assert.InRange(during.Values.Sum(), 1, 150);
            Assert.All(store.Failures, f => Assert.IsType<StoreFullException>(f));
            Assert.False((await store.GetRunAsync(runId))!.Status.IsFinished());

            disk.Grow(kilobytes: 64 * 1024);
            var result = await handle.GetResultAsync<int>(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);

            Assert.Equal(Steps * 30_000, result);
            var journal = await store.ReadAsync(runId);
            Assert.Equal(Enumerable.Range(1, Steps), journal.OfType<StepCompleted>().Select(c => c.Step));

            // A body runs again only for an effect whose outcome could not be written (in doubt, policy Retry).
            var failedAppends = store.Failures.Count;
            Assert.Equal(Steps, bodies.Count);
            Assert.InRange(bodies.Values.Sum() - Steps, 0, failedAppends);
            output.WriteLine($"{failedAppends} store calls failed; step bodies ran {bodies.Values.Sum()} times for {Steps} steps");
        }

        await using var reopened = await SqliteJournalStore.OpenAsync(disk.Options("journal.db"));
        var report = await JournalVerifier.VerifyAsync(reopened);
        Assert.True(report.IsSound, string.Join("; ", report.StoreProblems.Concat(report.Problems.Select(p => p.Message))));
        Assert.Equal(RunStatus.Completed, (await reopened.GetRunAsync(runId))!.Status);
    }

    private static Task AppendAsync(IJournalStore store, int run, long seq)
        => store.AppendAsync(new RunAppend(CrashWorkload.RunIdOf(Seed, run), seq, [CrashWorkload.EntryAt(Seed, run, seq)])).AsTask();

    // Every acknowledged entry is there and intact, and nothing after it: a failed append left nothing behind.
    private static async Task AssertExactlyAcknowledgedAsync(IJournalStore store, long[] acknowledged)
    {
        for (var run = 0; run < acknowledged.Length; run++)
        {
            var expected = Enumerable.Range(0, (int)acknowledged[run] + 1).Select(seq => CrashWorkload.EntryAt(Seed, run, seq));
            Assert.Equal(expected, await store.ReadAsync(CrashWorkload.RunIdOf(Seed, run)));
        }

        var listed = await store.ListRunsAsync(new RunQuery { PageSize = 100 });
        Assert.Equal(acknowledged.Length, listed.Runs.Count);
    }
}
