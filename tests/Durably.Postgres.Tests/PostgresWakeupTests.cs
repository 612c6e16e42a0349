using Durably.Journal;
using Durably.Storage;
using Npgsql;

namespace Durably.Postgres.Tests;

public sealed class PostgresWakeupTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    [Fact]
    public async Task WaitForWakeup_SignalDeliveredByAnotherProcess_WakesWorkerWhoClaimsTheRun()
    {
        await using var worker = await _database.OpenStoreAsync();
        await using var sender = await _database.OpenStoreAsync();
        var id = TestDatabase.NewId();
        await sender.AppendAsync(TestDatabase.Start(id));
        var lease = await worker.TryClaimRunAsync(id, "w", TimeSpan.FromMinutes(1));
        await worker.AppendAsync(new RunAppend(id, 1, [new TimerStarted { Sequence = 1, Timestamp = DateTimeOffset.UnixEpoch, Step = 1, DueAt = DateTimeOffset.MaxValue }]) { Status = RunStatus.Suspended, StatusDetail = "signal:go", LeaseEpoch = lease!.Epoch });
        await worker.ReleaseLeaseAsync(lease);
        Assert.True(await worker.WaitForWakeupAsync(TimeSpan.FromSeconds(30))); // listening now
        Assert.Empty(await worker.ClaimRunsAsync(new ClaimRequest { Owner = "w" }));

        var wait = worker.WaitForWakeupAsync(TimeSpan.FromMinutes(5));
        Assert.False(wait.IsCompleted);
        await sender.DeliverSignalAsync(id, new SignalMessage("go", Payload.FromJson("1")));

        Assert.True(await wait);
        Assert.Equal([id], (await worker.ClaimRunsAsync(new ClaimRequest { Owner = "w" })).Select(l => l.RunId));
    }

    [Fact]
    public async Task WaitForSignal_SignalDeliveredByAnotherStore_WakesOnlyTheWaitOfThatRun()
    {
        await using var worker = await _database.OpenStoreAsync();
        await using var sender = await _database.OpenStoreAsync();
        var (target, other) = (TestDatabase.NewId(), TestDatabase.NewId());
        await sender.AppendAsync(TestDatabase.Start(target));
        await sender.AppendAsync(TestDatabase.Start(other));
        Assert.True(await worker.WaitForWakeupAsync(TimeSpan.FromSeconds(30))); // listening now

        var forTarget = worker.WaitForSignalAsync(target, TimeSpan.FromMinutes(5));
        var forOther = worker.WaitForSignalAsync(other, TimeSpan.FromSeconds(3));
        await sender.DeliverSignalAsync(target, new SignalMessage("go", Payload.FromJson("1")));

        Assert.True(await forTarget);
        Assert.False(await forOther);
        Assert.False(await worker.WaitForSignalAsync(target, TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task WaitForWakeup_NotificationWhileNobodyWaits_IsKeptForTheNextWait()
    {
        await using var worker = await _database.OpenStoreAsync();
        await using var sender = await _database.OpenStoreAsync();
        Assert.True(await worker.WaitForWakeupAsync(TimeSpan.FromSeconds(30)));
        await using var observer = await TestDatabase.ConnectAsync();
        var notified = new TaskCompletionSource();
        observer.Notification += (_, _) => notified.TrySetResult();
        await using (var listen = new NpgsqlCommand($"LISTEN durably_{_database.Schema}", observer))
        {
            await listen.ExecuteNonQueryAsync();
        }

        // A new run announces itself while the worker is busy (not waiting).
        await sender.AppendAsync(TestDatabase.Start(TestDatabase.NewId()));
        Assert.True(await observer.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(notified.Task.IsCompleted);

        Assert.True(await worker.WaitForWakeupAsync(TimeSpan.FromSeconds(20)));
        Assert.False(await worker.WaitForWakeupAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task WaitForWakeup_ListenerConnectionKilled_ReconnectsAndWakesAgain()
    {
        var application = "durably-listen-" + Guid.NewGuid().ToString("N")[..8];
        await using var worker = await PostgresJournalStore.OpenAsync(_database.Options(connectionString: new NpgsqlConnectionStringBuilder(TestDatabase.ConnectionString) { ApplicationName = application }.ConnectionString));
        await using var sender = await _database.OpenStoreAsync();
        Assert.True(await worker.WaitForWakeupAsync(TimeSpan.FromSeconds(30)));

        var killed = await _database.ScalarAsync<long>("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%') AS k", application);

        // Notifications sent while it was away are lost, so the reconnect itself wakes the worker.
        Assert.Equal(1, killed);
        Assert.True(await worker.WaitForWakeupAsync(TimeSpan.FromSeconds(30)));
        var wait = worker.WaitForWakeupAsync(TimeSpan.FromMinutes(5));
        await sender.AppendAsync(TestDatabase.Start(TestDatabase.NewId()));
        Assert.True(await wait);
    }

    [Fact]
    public async Task WaitForWakeup_NothingHappens_TimesOutAsThePollingFallback()
    {
        await using var worker = await _database.OpenStoreAsync();
        Assert.True(await worker.WaitForWakeupAsync(TimeSpan.FromSeconds(30)));

        Assert.False(await worker.WaitForWakeupAsync(TimeSpan.FromMilliseconds(300)));
        using var cancel = new CancellationTokenSource();
        var cancelled = worker.WaitForWakeupAsync(TimeSpan.FromMinutes(5), cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
    }

    [Fact]
    public async Task Runtime_SignalDeliveredByAnotherStore_WakesTheWaitingWorkerLongBeforeItsPollInterval()
    {
        var application = "durably-worker-" + Guid.NewGuid().ToString("N")[..8];
        await using var store = await PostgresJournalStore.OpenAsync(_database.Options(connectionString: new NpgsqlConnectionStringBuilder(TestDatabase.ConnectionString) { ApplicationName = application }.ConnectionString));
        await using var sender = await _database.OpenStoreAsync(PostgresSchemaMode.Validate);
        var pollInterval = TimeSpan.FromMinutes(2);
        await using var worker = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "waiting-worker", PollInterval = pollInterval });
        worker.Register<string, string>("waits", async (ctx, name) => $"{await ctx.WaitForSignalAsync<string>("greeting")}, {name}");
        await worker.StartAsync();
        var id = TestDatabase.NewId();
        await worker.Client.StartAsync("waits", "Ana", new StartRunOptions { RunId = id });
        await WaitUntilAsync(async () => (await store.GetRunAsync(id))!.Status == RunStatus.Suspended, "the run suspends");
        await WaitUntilAsync(
            async () => await _database.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", application) == 1,
            "the worker listens");

        // Only the database connects the two: the worker learns of the signal from the store's notification.
        var delivered = DateTimeOffset.UtcNow;
        await sender.DeliverSignalAsync(id, new SignalMessage("greeting", Payload.FromValue("Hello")));
        using var timeout = new CancellationTokenSource(pollInterval / 4);
        var result = await worker.Client.GetResultAsync<string>(id, timeout.Token);

        Assert.Equal("Hello, Ana", result);
        var record = await store.GetRunAsync(id);
        Assert.True(record!.UpdatedAt - delivered < pollInterval / 4, $"finished {record.UpdatedAt - delivered} after the signal");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(20);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
