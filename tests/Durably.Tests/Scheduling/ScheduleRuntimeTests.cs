using Durably.Scheduling;
using Durably.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Durably.Tests.Scheduling;

// Schedules fired by the scheduler inside runtimes, on the in-memory store with a fake clock: the clock is moved on in
// small steps (as real time would move) until what the test waits for is in the store.
public sealed class ScheduleRuntimeTests : IAsyncDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _clock = new(T0.AddSeconds(0.5));
    private readonly List<DurableRuntime> _runtimes = [];
    private readonly InMemoryJournalStore _store;
    private int _executions;

    public ScheduleRuntimeTests()
    {
        _store = new InMemoryJournalStore(_clock);
    }

    private async Task<DurableRuntime> StartWorkerAsync(string worker, params ScheduleDefinition[] schedules)
    {
        var runtime = new DurableRuntime(_store, new DurableRuntimeOptions { WorkerId = worker, TimeProvider = _clock, PollInterval = TimeSpan.FromMilliseconds(200) });
        runtime.Register<string, string>("report", (ctx, team) =>
        {
            Interlocked.Increment(ref _executions);
            return Task.FromResult($"report for {team}");
        });
        foreach (var schedule in schedules)
        {
            runtime.AddSchedule(schedule);
        }

        await runtime.StartAsync();
        _runtimes.Add(runtime);
        return runtime;
    }

    // Moves the clock on 100 ms at a time until `done` holds (20 s of real time at most).
    private async Task AdvanceUntilAsync(Func<Task<bool>> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, "The scheduler did not get there within 20 seconds.");
            _clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(5);
        }
    }

    private async Task<List<RunRecord>> RunsAsync()
        => [.. (await _store.ListRunsAsync(new RunQuery { PageSize = 500 })).Runs];

    [Fact]
    public async Task AddSchedule_IntervalSchedule_StartsOneRunPerFireWithTheDerivedId()
    {
        var runtime = await StartWorkerAsync("w1", ScheduleDefinition.Every("reports", "report", TimeSpan.FromSeconds(10), "ops") with { Overlap = ScheduleOverlap.AllowAll });

        await AdvanceUntilAsync(async () => (await RunsAsync()).Count(r => r.Status == RunStatus.Completed) >= 3);

        var ids = (await RunsAsync()).Select(r => r.RunId.Value).Order().Take(3).ToList();
        Assert.Equal(["reports@20260301T120010Z", "reports@20260301T120020Z", "reports@20260301T120030Z"], ids);
        Assert.Equal("report for ops", await runtime.Client.GetResultAsync<string>(new RunId(ids[0])));
        var stored = await runtime.Client.Schedules.GetAsync("reports");
        Assert.Equal(new RunId(ids[^1]), stored.LastRunId ?? default);
    }

    [Fact]
    public async Task Scheduler_TwoWorkersOnOneStore_StartEachFireOnce()
    {
        var schedule = ScheduleDefinition.Every("shared", "report", TimeSpan.FromSeconds(1), "ops") with { Overlap = ScheduleOverlap.AllowAll };
        await StartWorkerAsync("w1", schedule);
        await StartWorkerAsync("w2", schedule);

        await AdvanceUntilAsync(async () => (await RunsAsync()).Count(r => r.Status == RunStatus.Completed) >= 20);
        foreach (var runtime in _runtimes)
        {
            await runtime.StopAsync();
        }

        var fires = new List<DateTimeOffset>();
        foreach (var run in await RunsAsync())
        {
            Assert.True(ScheduleRunIds.TryParseFire(run.RunId, out var id, out var fire));
            Assert.Equal("shared", id);
            fires.Add(fire);
        }

        // One run per second from the first fire on: none missing, none twice (ids are unique, so no second is listed twice).
        fires.Sort();
        Assert.Equal([.. Enumerable.Range(0, fires.Count).Select(i => T0.AddSeconds(1 + i))], fires);
        Assert.True(_executions >= 20);
    }

    [Fact]
    public async Task Pause_ThenResume_StartsNothingWhilePausedAndSkipsWhatFellDueMeanwhile()
    {
        var runtime = await StartWorkerAsync("w1", ScheduleDefinition.Every("paused", "report", TimeSpan.FromSeconds(10), "ops") with { CatchUp = CatchUpPolicy.All(10) });
        await runtime.Client.Schedules.PauseAsync("paused");

        _clock.Advance(TimeSpan.FromSeconds(60));
        var resumed = await runtime.Client.Schedules.ResumeAsync("paused");
        Assert.False(resumed.Paused);
        Assert.Equal(T0.AddSeconds(70), resumed.NextFireAt);

        await AdvanceUntilAsync(async () => (await RunsAsync()).Count > 0);
        Assert.Equal(["paused@20260301T120110Z"], (await RunsAsync()).Select(r => r.RunId.Value));
    }

    [Fact]
    public async Task Trigger_TwoCalls_StartTwoNumberedRunsEvenWhenPaused()
    {
        var runtime = await StartWorkerAsync("w1", ScheduleDefinition.ForCron("nightly", "report", "0 2 * * *", "ops"));
        await runtime.Client.Schedules.PauseAsync("nightly");

        var calls = await Task.WhenAll(runtime.Client.Schedules.TriggerAsync("nightly"), runtime.Client.Schedules.TriggerAsync("nightly"));

        Assert.Equal(["nightly@manual-1", "nightly@manual-2"], calls.Select(h => h.RunId.Value).Order());
        Assert.Equal("report for ops", await calls[0].GetResultAsync<string>());
        var stored = await runtime.Client.Schedules.GetAsync("nightly");
        Assert.Equal(2, stored.TriggerCount);
        Assert.Null(stored.LastRunId);
        Assert.Equal(2, (await RunsAsync()).Count);
    }

    [Fact]
    public async Task AddSchedule_ChangedInCode_UpdatesTheSpecKeepsThePauseAndRestartsTheTiming()
    {
        var first = await StartWorkerAsync("w1", ScheduleDefinition.ForCron("daily", "report", "0 2 * * *", "ops"));
        await first.Client.Schedules.PauseAsync("daily");
        await first.StopAsync();

        await StartWorkerAsync("w2", ScheduleDefinition.ForCron("daily", "report", "30 3 * * *", "finance"));

        var stored = await first.Client.Schedules.GetAsync("daily");
        Assert.True(stored.Paused);
        Assert.Equal("30 3 * * *", stored.Cron);
        Assert.Equal("\"finance\"", stored.Input!.ToJsonString());
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 3, 30, 0, TimeSpan.Zero), stored.NextFireAt);
    }

    [Fact]
    public async Task AddSchedule_UnchangedAtRestart_WritesNothing()
    {
        var schedule = ScheduleDefinition.ForCron("daily", "report", "0 2 * * *", "ops");
        var first = await StartWorkerAsync("w1", schedule);
        var version = (await first.Client.Schedules.GetAsync("daily")).Version;
        await first.StopAsync();

        var second = await StartWorkerAsync("w2", schedule);

        Assert.Equal(version, (await second.Client.Schedules.GetAsync("daily")).Version);
    }

    [Fact]
    public async Task StartAsync_ScheduleOnAStoreWithoutSchedules_ThrowsNotSupported()
    {
        await using var store = new JournalOnlyStore(new InMemoryJournalStore());
        await using var runtime = new DurableRuntime(store);
        runtime.Register<string, string>("report", (ctx, team) => Task.FromResult(team));
        runtime.AddSchedule(ScheduleDefinition.ForCron("daily", "report", "0 2 * * *"));

        var error = await Assert.ThrowsAsync<NotSupportedException>(() => runtime.StartAsync());
        Assert.Contains("IScheduleStore", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NotSupportedException>(() => new DurableClient(store).Schedules.ListAsync());
    }

    [Fact]
    public async Task AddSchedule_InvalidOrDuplicate_ThrowsArgumentException()
    {
        await using var runtime = new DurableRuntime(_store);
        runtime.AddSchedule(ScheduleDefinition.ForCron("daily", "report", "0 2 * * *"));

        Assert.Throws<ArgumentException>(() => runtime.AddSchedule(ScheduleDefinition.ForCron("daily", "report", "0 3 * * *")));
        Assert.Throws<ArgumentException>(() => runtime.AddSchedule(ScheduleDefinition.ForCron("bad", "report", "not cron")));
        Assert.Throws<ArgumentException>(() => runtime.AddSchedule(new ScheduleDefinition { Id = "neither", Workflow = "report" }));
    }

    [Fact]
    public async Task Get_UnknownSchedule_ThrowsScheduleNotFound()
    {
        var client = new DurableClient(_store);

        var error = await Assert.ThrowsAsync<ScheduleNotFoundException>(() => client.Schedules.PauseAsync("nope"));
        Assert.Equal("nope", error.ScheduleId);
    }

    [Fact]
    public async Task Scheduler_StoreFailsForAWhile_LogsBacksOffAndFiresOnceItRecovers()
    {
        var flaky = new FlakyScheduleStore(_store) { FailuresLeft = 3 };
        var log = new EventLog();
        var runtime = new DurableRuntime(flaky, new DurableRuntimeOptions { WorkerId = "w1", TimeProvider = _clock, PollInterval = TimeSpan.FromMilliseconds(200) }, log);
        _runtimes.Add(runtime);
        runtime.Register<string, string>("report", (ctx, team) => Task.FromResult($"report for {team}"));
        await new DurableClient(_store, new DurableClientOptions { TimeProvider = _clock }).Schedules.SaveAsync(ScheduleDefinition.Every("flaky", "report", TimeSpan.FromSeconds(5), "ops"));
        await runtime.StartAsync();

        await AdvanceUntilAsync(async () => (await RunsAsync()).Any(r => r.Status == RunStatus.Completed));

        Assert.True(flaky.FailuresLeft < 0, "The scheduler never listed the schedules after the failures.");
        Assert.Equal(3, log.Count(1400));
        Assert.Equal("flaky@20260301T120005Z", (await RunsAsync()).Select(r => r.RunId.Value).Order().First());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var runtime in _runtimes)
        {
            await runtime.DisposeAsync();
        }
    }

    // A store that implements only IJournalStore, as a third-party store may.
    internal sealed class JournalOnlyStore(IJournalStore inner) : IJournalStore
    {
        public ValueTask AppendAsync(IReadOnlyList<RunAppend> appends, CancellationToken cancellationToken = default) => inner.AppendAsync(appends, cancellationToken);

        public Task<IReadOnlyList<Journal.JournalEntry>> ReadAsync(RunId runId, long fromSequence = 0, CancellationToken cancellationToken = default) => inner.ReadAsync(runId, fromSequence, cancellationToken);

        public Task<RunRecord?> GetRunAsync(RunId runId, CancellationToken cancellationToken = default) => inner.GetRunAsync(runId, cancellationToken);

        public Task<RunPage> ListRunsAsync(RunQuery query, CancellationToken cancellationToken = default) => inner.ListRunsAsync(query, cancellationToken);

        public Task<DeliveredSignal> DeliverSignalAsync(RunId runId, SignalMessage signal, CancellationToken cancellationToken = default) => inner.DeliverSignalAsync(runId, signal, cancellationToken);

        public Task<IReadOnlyList<DeliveredSignal>> ReadSignalsAsync(RunId runId, long afterSignalId = 0, CancellationToken cancellationToken = default) => inner.ReadSignalsAsync(runId, afterSignalId, cancellationToken);

        public Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default) => inner.ClaimRunsAsync(request, cancellationToken);

        public Task<RunLease?> TryClaimRunAsync(RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => inner.TryClaimRunAsync(runId, owner, leaseDuration, cancellationToken);

        public Task<RunLease> RenewLeaseAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => inner.RenewLeaseAsync(lease, leaseDuration, cancellationToken);

        public Task ReleaseLeaseAsync(RunLease lease, CancellationToken cancellationToken = default) => inner.ReleaseLeaseAsync(lease, cancellationToken);

        public Task<PurgeResult> PurgeRunsAsync(PurgeRequest request, CancellationToken cancellationToken = default) => inner.PurgeRunsAsync(request, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    // The in-memory store, whose schedule listing fails (as a store whose server is down) a given number of times.
    private sealed class FlakyScheduleStore(InMemoryJournalStore inner) : IJournalStore, IScheduleStore
    {
        private int _failuresLeft;

        public int FailuresLeft
        {
            get => Volatile.Read(ref _failuresLeft);
            init => _failuresLeft = value;
        }

        public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(ScheduleQuery query, CancellationToken cancellationToken = default)
            => Interlocked.Decrement(ref _failuresLeft) >= 0
                ? throw new JournalStoreException("The store is unreachable (test).")
                : inner.ListSchedulesAsync(query, cancellationToken);

        public Task<ScheduleRecord?> GetScheduleAsync(string scheduleId, CancellationToken cancellationToken = default) => inner.GetScheduleAsync(scheduleId, cancellationToken);

        public Task<ScheduleRecord?> SaveScheduleAsync(ScheduleRecord schedule, CancellationToken cancellationToken = default) => inner.SaveScheduleAsync(schedule, cancellationToken);

        public Task<bool> DeleteScheduleAsync(string scheduleId, CancellationToken cancellationToken = default) => inner.DeleteScheduleAsync(scheduleId, cancellationToken);

        public ValueTask AppendAsync(IReadOnlyList<RunAppend> appends, CancellationToken cancellationToken = default) => inner.AppendAsync(appends, cancellationToken);

        public Task<IReadOnlyList<Journal.JournalEntry>> ReadAsync(RunId runId, long fromSequence = 0, CancellationToken cancellationToken = default) => inner.ReadAsync(runId, fromSequence, cancellationToken);

        public Task<RunRecord?> GetRunAsync(RunId runId, CancellationToken cancellationToken = default) => inner.GetRunAsync(runId, cancellationToken);

        public Task<RunPage> ListRunsAsync(RunQuery query, CancellationToken cancellationToken = default) => inner.ListRunsAsync(query, cancellationToken);

        public Task<DeliveredSignal> DeliverSignalAsync(RunId runId, SignalMessage signal, CancellationToken cancellationToken = default) => inner.DeliverSignalAsync(runId, signal, cancellationToken);

        public Task<IReadOnlyList<DeliveredSignal>> ReadSignalsAsync(RunId runId, long afterSignalId = 0, CancellationToken cancellationToken = default) => inner.ReadSignalsAsync(runId, afterSignalId, cancellationToken);

        public Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default) => inner.ClaimRunsAsync(request, cancellationToken);

        public Task<RunLease?> TryClaimRunAsync(RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => inner.TryClaimRunAsync(runId, owner, leaseDuration, cancellationToken);

        public Task<RunLease> RenewLeaseAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => inner.RenewLeaseAsync(lease, leaseDuration, cancellationToken);

        public Task ReleaseLeaseAsync(RunLease lease, CancellationToken cancellationToken = default) => inner.ReleaseLeaseAsync(lease, cancellationToken);

        public Task<PurgeResult> PurgeRunsAsync(PurgeRequest request, CancellationToken cancellationToken = default) => inner.PurgeRunsAsync(request, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    // Counts log events by id.
    private sealed class EventLog : Microsoft.Extensions.Logging.ILoggerFactory, Microsoft.Extensions.Logging.ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<int> _events = new();

        public int Count(int eventId) => _events.Count(e => e == eventId);

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => _events.Enqueue(eventId.Id);
    }
}
