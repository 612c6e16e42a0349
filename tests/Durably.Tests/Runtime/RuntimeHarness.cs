using Durably.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Durably.Tests.Runtime;

// Starts runtimes over one store, as successive processes would; "crashing" one abandons it mid-run.
internal sealed class RuntimeHarness : IAsyncDisposable
{
    private readonly List<DurableRuntime> _runtimes = [];

    public RuntimeHarness(bool fakeClock = false)
    {
        Clock = fakeClock ? new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) : null;
        Store = new TestStore(Clock);
    }

    public FakeTimeProvider? Clock { get; }

    public TestStore Store { get; }

    public static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;

    public async Task<DurableRuntime> StartAsync(Action<DurableRuntime> register, Func<DurableRuntimeOptions, DurableRuntimeOptions>? configure = null)
    {
        var options = new DurableRuntimeOptions
        {
            WorkerId = "test-worker",
            TimeProvider = (TimeProvider?)Clock ?? TimeProvider.System,
            PollInterval = TimeSpan.FromMilliseconds(50),
            DefaultRetry = RetryPolicy.None,
        };
        var runtime = new DurableRuntime(Store, configure?.Invoke(options) ?? options);
        register(runtime);
        await runtime.StartAsync();
        _runtimes.Add(runtime);
        return runtime;
    }

    // Moves the fake clock past a run's wake-up and returns the run's result. A runtime waits on the fake clock, and
    // its loop may not have started that wait yet when the clock first moves (on a loaded machine): so while the run
    // has not finished, the clock is moved on one poll interval at a time, as real time would move it.
    // Nudged says how far the clock was moved beyond `by` (zero when the runtime was already waiting).
    public async Task<T> AdvanceUntilResultAsync<T>(DurableRuntime runtime, RunId runId, TimeSpan by)
    {
        Nudged = TimeSpan.Zero;
        Clock!.Advance(by);
        var result = runtime.Client.GetResultAsync<T>(runId, Timeout);
        while (!result.IsCompleted)
        {
            await Task.WhenAny(result, Task.Delay(50));
            if (!result.IsCompleted)
            {
                Clock.Advance(TimeSpan.FromMilliseconds(50));
                Nudged += TimeSpan.FromMilliseconds(50);
            }
        }

        return await result;
    }

    public TimeSpan Nudged { get; private set; }

    // Moves the fake clock on by `by` in steps of a quarter second, each only once the run's lease is ahead of it, as real time
    // would move: one jump past a short lease (a heartbeat step's) would let it lapse before the worker's renewal, which waits on
    // the fake clock too, had a chance to run.
    public async Task AdvanceKeepingTheLeaseAsync(RunId runId, TimeSpan by)
    {
        var step = TimeSpan.FromMilliseconds(250);
        for (var moved = TimeSpan.Zero; moved < by; moved += step)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while ((await Store.GetRunAsync(runId))?.LeaseExpiresAt is { } expires && expires <= Clock!.GetUtcNow() + step)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"The worker did not renew the lease of run {runId}.");
                }

                await Task.Delay(5);
            }

            Clock!.Advance(step < by - moved ? step : by - moved);
        }
    }

    // Simulates a process crash: the store refuses every later write, the runtime is torn down, the store "comes back".
    public async Task CrashAsync(DurableRuntime runtime)
    {
        Store.CrashWhen(_ => true);
        await runtime.StopAsync();
        Store.Revive();
    }

    public async Task<RunRecord> WaitForStatusAsync(RunId runId, Func<RunStatus, bool> predicate)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var run = await Store.GetRunAsync(runId);
            if (run is not null && predicate(run.Status))
            {
                return run;
            }

            if (DateTime.UtcNow > deadline)
            {
                var last = run is null ? null : (await Store.ReadAsync(runId)).LastOrDefault();
                throw new TimeoutException($"Run {runId} did not reach the expected status; it is {run?.Status} ({run?.StatusDetail}). Last entry: {(last is null ? "none" : System.Text.Encoding.UTF8.GetString(Durably.Journal.JournalSerializer.Serialize(last)))}");
            }

            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var runtime in _runtimes)
        {
            await runtime.DisposeAsync();
        }
    }
}

internal static class RuntimeHarnessExtensions
{
    public static async Task WaitForDetailAsync(this RuntimeHarness harness, RunId runId, string detail)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await harness.Store.GetRunAsync(runId))?.StatusDetail?.Contains(detail, StringComparison.Ordinal) != true)
        {
            Assert.True(DateTime.UtcNow < deadline, $"run {runId} never waited for {detail}");
            await Task.Delay(10);
        }
    }

    public static async Task WaitForLeaseReleasedAsync(this RuntimeHarness harness, RunId runId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await harness.Store.GetRunAsync(runId))!.LeaseOwner is not null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the suspended run's lease was not released");
            await Task.Delay(10);
        }
    }
}
