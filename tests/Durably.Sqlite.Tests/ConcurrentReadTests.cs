using System.Collections.Concurrent;
using System.Diagnostics;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// Readers and writers of one store never trip over each other: no read fails because of another read or the writer.
public sealed class ConcurrentReadTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _folder = new();

    private string StorePath => _folder.File("journal.db");

    public void Dispose() => _folder.Dispose();

    // Microsoft.Data.Sqlite's connection pool (10.0) can hand one native connection to two owners when connections
    // are opened at the same moment: activation marks a pooled connection active before it records its owner, and an
    // open that finds the pool empty at that instant reclaims it as leaked and hands it out again. Two read
    // transactions on one handle then failed with "cannot start a transaction within a transaction". The pool grows,
    // and so races, when a store is new: 16 readers start at once on a freshly opened store, over and over.
    [Fact]
    public async Task Reads_SixteenAtOnceOnFreshlyOpenedStores_NoneFails()
    {
        var runId = new RunId("wave");
        await using (var seed = await SqliteJournalStore.OpenAsync(StorePath))
        {
            await seed.AppendAsync(new RunAppend(runId, 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "w" }]));
            for (var seq = 1; seq < 20; seq++)
            {
                await seed.AppendAsync(new RunAppend(runId, seq, [new StepCompleted { Sequence = seq, Timestamp = DateTimeOffset.UnixEpoch, Step = seq, Result = Payload.FromValue(seq) }]));
            }
        }

        var failures = new ConcurrentQueue<Exception>();
        var waves = 0;
        for (; waves < 600 && failures.IsEmpty; waves++)
        {
            await using var store = await SqliteJournalStore.OpenAsync(StorePath);
            using var start = new Barrier(16);
            var readers = Enumerable.Range(0, 16).Select(_ => new Thread(() =>
            {
                start.SignalAndWait();
                try
                {
                    Assert.Equal(20, store.ReadAsync(runId).GetAwaiter().GetResult().Count);
                }
                catch (Exception ex)
                {
                    failures.Enqueue(ex);
                }
            })).ToArray();
            foreach (var reader in readers)
            {
                reader.Start();
            }

            foreach (var reader in readers)
            {
                reader.Join();
            }
        }

        output.WriteLine($"{waves} waves of 16 concurrent reads; first failure: {failures.FirstOrDefault()}");
        Assert.Empty(failures);
    }

    // A reader connection left inside a transaction (by any path) must never serve a read: the store checks SQLite's
    // autocommit state when it hands out a pooled reader and replaces a connection that is not in it.
    [Fact]
    public async Task Read_PooledReaderLeftInTransaction_IsReplacedAndReadSucceeds()
    {
        await using var store = await SqliteJournalStore.OpenAsync(StorePath);
        var runId = new RunId("left-open");
        await store.AppendAsync(new RunAppend(runId, 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "w" }]));

        var stuck = store.Readers.Rent();
        using (var begin = stuck.CreateCommand())
        {
            begin.CommandText = "BEGIN";
            begin.ExecuteNonQuery();
        }

        store.Readers.ReturnUnchecked(stuck);

        Assert.NotNull(await store.GetRunAsync(runId));
        Assert.Single(await store.ReadAsync(runId));
        Assert.Equal(System.Data.ConnectionState.Closed, stuck.State);
    }

    // N threads read (GetRun, Read, List) while M runs append, for several seconds: zero errors, and every append
    // acknowledged before a read started is in what that read returns, in order.
    [Fact]
    public async Task Reads_WhileManyRunsAppend_NoErrorsAndEveryAcknowledgedAppendVisibleInOrder()
    {
        const int Appenders = 8;
        const int Readers = 6;
        await using var store = await SqliteJournalStore.OpenAsync(StorePath);
        var acknowledged = new long[Appenders];
        using var stop = new CancellationTokenSource();
        var errors = new ConcurrentQueue<string>();
        long reads = 0;

        var appenders = Enumerable.Range(0, Appenders).Select(r => Task.Run(async () =>
        {
            var runId = new RunId($"stress-{r}");
            for (long seq = 0; !stop.IsCancellationRequested; seq++)
            {
                JournalEntry entry = seq == 0
                    ? new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "stress" }
                    : new StepCompleted { Sequence = seq, Timestamp = DateTimeOffset.UnixEpoch, Step = (int)seq, Result = Payload.FromValue(seq) };
                await store.AppendAsync(new RunAppend(runId, seq, [entry]));
                Volatile.Write(ref acknowledged[r], seq + 1);
            }
        })).ToArray();

        var readers = Enumerable.Range(0, Readers).Select(t => Task.Factory.StartNew(
            () =>
            {
                var random = new Random(t);
                while (!stop.IsCancellationRequested)
                {
                    var r = random.Next(Appenders);
                    var runId = new RunId($"stress-{r}");
                    var known = Volatile.Read(ref acknowledged[r]);
                    try
                    {
                        switch (random.Next(3))
                        {
                            case 0 when known > 0:
                                var run = store.GetRunAsync(runId).GetAwaiter().GetResult();
                                if (run is null || run.NextSequence < known)
                                {
                                    errors.Enqueue($"GetRun {runId}: {run?.NextSequence} entries, {known} acknowledged");
                                }

                                break;
                            case 1 when known > 0:
                                var entries = store.ReadAsync(runId).GetAwaiter().GetResult();
                                if (entries.Count < known || entries.Select((e, i) => e.Sequence == i).Contains(false))
                                {
                                    errors.Enqueue($"Read {runId}: {entries.Count} entries, {known} acknowledged");
                                }

                                break;
                            default:
                                store.ListRunsAsync(new RunQuery { PageSize = 5 }).GetAwaiter().GetResult();
                                break;
                        }

                        Interlocked.Increment(ref reads);
                    }
                    catch (Exception ex)
                    {
                        errors.Enqueue($"{ex.GetType().Name}: {ex.Message}");
                    }
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();

        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(4));
        await stop.CancelAsync();
        await Task.WhenAll(appenders.Concat(readers)).WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"{Interlocked.Read(ref reads)} reads and {acknowledged.Sum()} appends in {clock.Elapsed.TotalSeconds:F1} s");

        Assert.Empty(errors);
        for (var r = 0; r < Appenders; r++)
        {
            var entries = await store.ReadAsync(new RunId($"stress-{r}"));
            Assert.Equal(Enumerable.Range(0, (int)acknowledged[r]).Select(i => (long)i), entries.Select(e => e.Sequence));
        }

        Assert.True(Interlocked.Read(ref reads) > 100, "Too few reads ran to exercise concurrency.");
    }
}
