using System.Diagnostics;
using System.Globalization;
using Durably.Journal;
using Durably.Storage;
using Durably.TestHost;
using Xunit.Abstractions;

namespace Durably.Postgres.Tests;

// Worker processes (Durably.TestHost heartbeat-worker) on one schema with 60-second leases, and a step with a 2-second heartbeat
// timeout. PostgreSQL cannot see that a worker died, so without the heartbeat its runs would wait out the whole lease.
public sealed class PostgresHeartbeatTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    private readonly TestDatabase _database = new();
    private readonly List<WorkerProcess> _workers = [];

    [Theory]
    [InlineData(nameof(InDoubtPolicy.Retry))]
    [InlineData(nameof(InDoubtPolicy.Fail))]
    public async Task HeartbeatStep_WorkerKilledWithSigkillMidStep_AnotherWorkerTakesOverWellBeforeTheLeaseAndAppliesTheInDoubtPolicy(string policy)
    {
        await (await _database.OpenStoreAsync()).DisposeAsync();
        await using var store = await _database.OpenStoreAsync(PostgresSchemaMode.Validate);
        var client = new DurableClient(store);
        var runId = new RunId("charge-" + policy.ToLowerInvariant());
        var victim = await StartWorkerAsync("victim");
        await client.StartAsync(HeartbeatWorker.EffectWorkflow, policy, new StartRunOptions { RunId = runId });
        var first = await victim.WaitForLineAsync(l => l.StartsWith("effect victim ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        // While the step runs, the lease is at most the heartbeat timeout ahead, by the database's clock.
        await WaitUntilAsync(
            async () => await _database.ScalarAsync<bool>($"SELECT lease_owner = 'victim' AND lease_expires_at <= now() + $2 FROM {_database.Schema}.runs WHERE run_id = $1", runId.Value, HeartbeatWorker.Heartbeat),
            "the victim's lease is as short as the heartbeat timeout");
        var rescuer = await StartWorkerAsync("rescuer");

        await victim.KillAsync();
        var killedAt = Stopwatch.StartNew();

        RunRecord? run = null;
        await WaitUntilAsync(async () => (run = await store.GetRunAsync(runId))!.Status is RunStatus.Completed or RunStatus.Failed, "the rescuer finishes the run");
        var finished = killedAt.Elapsed;
        output.WriteLine($"{policy}: the run ended {run!.Status} {finished.TotalMilliseconds:F0} ms after the kill (lease {Lease.TotalSeconds} s, heartbeat timeout {HeartbeatWorker.Heartbeat.TotalSeconds} s)");

        // A correctness bound, not a speed one: the dead worker's lease would have held the run for 60 s.
        Assert.True(finished < TimeSpan.FromSeconds(30), $"the run ended {finished} after the victim was killed; its lease is {Lease}");
        var journal = await store.ReadAsync(runId);
        var resumed = journal.OfType<RunResumed>().Last();
        Assert.Equal("rescuer", resumed.Worker);
        var (firstKey, firstEpoch) = Parse(first);
        if (policy == nameof(InDoubtPolicy.Retry))
        {
            // Re-run with the same idempotency key, under the rescuer's newer fencing token.
            var second = await rescuer.WaitForLineAsync(l => l.StartsWith("effect rescuer ", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
            var (secondKey, secondEpoch) = Parse(second);
            Assert.Equal(RunStatus.Completed, run.Status);
            Assert.Equal(firstKey, secondKey);
            Assert.True(secondEpoch > firstEpoch);
            Assert.Equal("charged by rescuer", await client.GetResultAsync<string>(runId));
            Assert.Equal([1, 2], journal.OfType<StepStarted>().Select(s => s.Attempt));
        }
        else
        {
            // Failed in doubt, without running the effect again.
            Assert.Equal(RunStatus.Failed, run.Status);
            Assert.DoesNotContain("effect rescuer", rescuer.Output, StringComparison.Ordinal);
            var failed = journal.OfType<StepFailed>().Single();
            Assert.Equal(typeof(InDoubtException).FullName, failed.Error.Type);
            var error = await Assert.ThrowsAsync<RunFailedException>(() => client.GetResultAsync<string>(runId));
            Assert.Contains("in doubt", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public Task CancelAsync_FromThisProcess_CancelsTheTokenOfTheHeartbeatStepRunningInTheWorkerProcess()
        // The 60 s lease is renewed every third of the 2 s heartbeat timeout while the step runs, and each renewal looks for a cancel.
        => CancelRunningStepAsync(new RunId("cancel-me"), heartbeat: true, "user closed the tab", TimeSpan.FromSeconds(30));

    [Fact]
    public Task CancelAsync_FromThisProcess_StepWithoutHeartbeat_ReachesTheTokenAtOnceNotAtTheNextRenewal()
        // Without a heartbeat the 60 s lease is renewed every 20 s; the signal's notification wakes the worker's renewal loop instead,
        // so the token is cancelled long before the next renewal would have come (10 s is half of it, with room for a loaded machine).
        => CancelRunningStepAsync(new RunId("cancel-plain"), heartbeat: false, "user pressed stop", TimeSpan.FromSeconds(10));

    // Starts a step that waits on its token in a worker process, cancels the run from this process, and waits (at most
    // tokenWithin) for the worker to say the token was cancelled; the run then ends cancelled with the reason.
    private async Task CancelRunningStepAsync(RunId runId, bool heartbeat, string reason, TimeSpan tokenWithin)
    {
        await (await _database.OpenStoreAsync()).DisposeAsync();
        await using var store = await _database.OpenStoreAsync(PostgresSchemaMode.Validate);
        var client = new DurableClient(store);
        var worker = await StartWorkerAsync("worker");
        await client.StartAsync(HeartbeatWorker.CancellableWorkflow, heartbeat, new StartRunOptions { RunId = runId });
        await worker.WaitForLineAsync(l => l == $"step-started worker {runId}", TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();

        await client.CancelAsync(new CancelRequest(runId) { Reason = reason });

        await worker.WaitForLineAsync(l => l == $"token-cancelled worker {runId}", tokenWithin);
        output.WriteLine($"token cancelled {clock.ElapsedMilliseconds} ms after the cancel was delivered");
        await WaitUntilAsync(async () => (await store.GetRunAsync(runId))!.Status == RunStatus.Cancelled, "the run ends cancelled");
        Assert.Equal(reason, (await store.ReadAsync(runId)).OfType<RunCancelled>().Single().Reason);
    }

    private static (string Key, long Epoch) Parse(string effectLine)
    {
        // "effect WORKER RUN KEY ATTEMPT EPOCH"
        var parts = effectLine.Split(' ');
        return (parts[3], long.Parse(parts[5], CultureInfo.InvariantCulture));
    }

    private async Task<WorkerProcess> StartWorkerAsync(string name)
    {
        var worker = await WorkerProcess.StartAsync(name, ["heartbeat-worker", "pg", TestDatabase.ConnectionString, _database.Schema, name, ((int)Lease.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)]);
        _workers.Add(worker);
        return worker;
    }

    // Polls the database, which other processes change, until the condition holds.
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(50);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        await _database.DisposeAsync();
    }
}
