using System.Diagnostics;
using System.Globalization;
using Durably.Journal;
using Durably.Postgres.Tests;
using Durably.Storage;
using Durably.TestHost;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// Worker processes (Durably.TestHost heartbeat-worker) on one SQLite journal, with a client in the test process. The SQLite
// store hands a dead worker's runs over at once (it sees the worker's lock file freed), so what heartbeats add shows with a
// worker that is alive but frozen (SIGSTOP): its lock is held, and only the lease, kept at the heartbeat timeout, lets go.
public sealed class HeartbeatProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    // Long enough that a takeover within the test's bound can only come from the heartbeat timeout (2 s).
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    private readonly TempFolder _folder = new();
    private readonly List<WorkerProcess> _workers = [];
    private SqliteJournalStore _store = null!;

    private string StorePath => _folder.File("journal.db");

    [Fact]
    public async Task HeartbeatStep_WorkerFrozenWithSigstopWhileItsLockIsHeld_AnotherWorkerTakesOverAfterTheHeartbeatNotTheLease()
    {
        var runId = new RunId("frozen-charge");
        var victim = await StartWorkerAsync("victim");
        var client = new DurableClient(_store);
        await client.StartAsync(HeartbeatWorker.EffectWorkflow, nameof(InDoubtPolicy.Retry), new StartRunOptions { RunId = runId });
        var first = await victim.WaitForLineAsync(l => l.StartsWith("effect victim ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        // While the step runs, the lease is at most the heartbeat timeout ahead (both times are this machine's clock).
        var lease = await WaitForLeaseAsync(runId, e => e <= DateTimeOffset.UtcNow + HeartbeatWorker.Heartbeat);
        output.WriteLine($"lease while the heartbeat step runs: {(lease - DateTimeOffset.UtcNow).TotalMilliseconds:F0} ms ahead (LeaseDuration {Lease.TotalSeconds} s)");

        await FreezeOutsideAWriteAsync(victim);
        var frozenAt = Stopwatch.StartNew();
        var rescuer = await StartWorkerAsync("rescuer");
        var second = await rescuer.WaitForLineAsync(l => l.StartsWith("effect rescuer ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var takeover = frozenAt.Elapsed;
        output.WriteLine($"taken over {takeover.TotalMilliseconds:F0} ms after the freeze");

        // A correctness bound, not a speed one: without the heartbeat the frozen worker's lease would hold the run for 60 s.
        Assert.True(takeover < TimeSpan.FromSeconds(30), $"the rescuer took the run {takeover} after the victim froze; its lease is {Lease}");
        Assert.Equal("charged by rescuer", await client.GetResultAsync<string>(runId, new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token));

        // In doubt with the Retry policy: the step ran again with the same idempotency key, under a newer fencing token.
        var (firstKey, firstEpoch) = Parse(first);
        var (secondKey, secondEpoch) = Parse(second);
        Assert.Equal(firstKey, secondKey);
        Assert.True(secondEpoch > firstEpoch, $"the rescuer's fencing token {secondEpoch} is not newer than the victim's {firstEpoch}");

        // The victim, continued, finds its lease lost and writes nothing more.
        var before = await _store.ReadAsync(runId);
        await victim.ContinueAsync();
        await victim.WaitForLineAsync(l => l.Contains($"Run {runId} lost its lease", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        Assert.Equal(before.Count, (await _store.ReadAsync(runId)).Count);
        var journal = await _store.ReadAsync(runId);
        Assert.Single(journal.OfType<StepCompleted>());
        Assert.Equal([1, 2], journal.OfType<StepStarted>().Select(s => s.Attempt));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CancelAsync_FromThisProcess_CancelsTheTokenOfTheStepRunningInTheWorkerProcess(bool heartbeat)
    {
        var runId = new RunId("cancel-me");

        // A short lease, renewed every second: the worker looks for a cancel at each renewal (every 0.67 s with the heartbeat).
        var worker = await StartWorkerAsync("worker", TimeSpan.FromSeconds(3));
        var client = new DurableClient(_store);
        await client.StartAsync(HeartbeatWorker.CancellableWorkflow, heartbeat, new StartRunOptions { RunId = runId });
        await worker.WaitForLineAsync(l => l == $"step-started worker {runId}", TimeSpan.FromSeconds(60));

        await client.CancelAsync(new CancelRequest(runId) { Reason = "user closed the tab" });

        await worker.WaitForLineAsync(l => l == $"token-cancelled worker {runId}", TimeSpan.FromSeconds(60));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await _store.GetRunAsync(runId))!.Status != RunStatus.Cancelled)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the run is {(await _store.GetRunAsync(runId))!.Status}, not cancelled");
            await Task.Delay(50);
        }

        Assert.Equal("user closed the tab", (await _store.ReadAsync(runId)).OfType<RunCancelled>().Single().Reason);
    }

    // Freezes the worker between two writes. Frozen inside a write transaction (a lease renewal), it would hold the journal's write
    // lock and stall every process on the file: another failure than the one under test, which is about a worker holding runs.
    private async Task FreezeOutsideAWriteAsync(WorkerProcess worker)
    {
        for (var attempt = 1; ; attempt++)
        {
            await worker.PauseAsync();
            if (CanTakeTheWriteLock())
            {
                return;
            }

            Assert.True(attempt < 20, "the worker was inside a write transaction at every one of 20 freezes");
            await worker.ContinueAsync();
            await Task.Delay(50);
        }
    }

    private bool CanTakeTheWriteLock()
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = StorePath, Pooling = false }.ToString());
        connection.Open();
        using var begin = connection.CreateCommand();
        begin.CommandText = "PRAGMA busy_timeout=100; BEGIN IMMEDIATE; ROLLBACK;";
        try
        {
            begin.ExecuteNonQuery();
            return true;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6)
        {
            // SQLITE_BUSY or SQLITE_LOCKED: the frozen worker holds the write lock.
            return false;
        }
    }

    private static (string Key, long Epoch) Parse(string effectLine)
    {
        // "effect WORKER RUN KEY ATTEMPT EPOCH"
        var parts = effectLine.Split(' ');
        return (parts[3], long.Parse(parts[5], CultureInfo.InvariantCulture));
    }

    private async Task<WorkerProcess> StartWorkerAsync(string name, TimeSpan? lease = null)
    {
        var worker = await WorkerProcess.StartAsync(name, ["heartbeat-worker", "sqlite", StorePath, name, ((int)(lease ?? Lease).TotalMilliseconds).ToString(CultureInfo.InvariantCulture)]);
        _workers.Add(worker);
        return worker;
    }

    private async Task<DateTimeOffset> WaitForLeaseAsync(RunId runId, Func<DateTimeOffset, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if ((await _store.GetRunAsync(runId))?.LeaseExpiresAt is { } expires && condition(expires))
            {
                return expires;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the lease of {runId} never got as short as the heartbeat timeout: {(await _store.GetRunAsync(runId))?.LeaseExpiresAt:O}");
            await Task.Delay(20);
        }
    }

    public async Task InitializeAsync() => _store = await SqliteJournalStore.OpenAsync(StorePath);

    public async Task DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        await _store.DisposeAsync();
        _folder.Dispose();
    }
}
