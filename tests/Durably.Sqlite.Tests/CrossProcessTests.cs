using System.Globalization;
using Durably.Journal;
using Durably.Storage;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// Another process (the CLI, a web app) writes signals to and reads journals from a file a host has open and is appending to.
public sealed class CrossProcessTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempFolder _folder = new();

    private string StorePath => _folder.File("journal.db");

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    public async Task DeliverSignalAsync_FromChildWhileHostAppends_HostReadsSignal(int busyRuns)
    {
        var target = new RunId("waiting-run");
        await using var store = await SqliteJournalStore.OpenAsync(StorePath);
        await store.AppendAsync(new RunAppend(target, 0, [Started(0)]));
        await store.AppendAsync(new RunAppend(target, 1, [new TimerStarted { Sequence = 1, Timestamp = At(1), Step = 1, DueAt = At(1).AddDays(1), Name = "approval" }]) { Status = RunStatus.Suspended, WakeAt = At(1).AddDays(1), StatusDetail = "signal:approval" });

        await using var load = new AppendLoad(store, busyRuns);

        // The load must be running before the child starts: at the start of a test run the machine is busiest, and the
        // load's tasks could otherwise begin only after the child has exited.
        await load.WaitForAsync(20).WaitAsync(Timeout);
        var before = load.Acknowledged;
        var printed = await ChildProcess.RunAsync("deliver-signal", StorePath, target.Value, "approval", """{"approved":true,"by":"ops"}""").WaitAsync(Timeout);
        var during = load.Acknowledged - before;
        await load.StopAsync();
        output.WriteLine($"{during} appends acknowledged in the host while the child delivered the signal");

        var signal = Assert.Single(await store.ReadSignalsAsync(target));
        Assert.Equal(long.Parse(printed, CultureInfo.InvariantCulture), signal.SignalId);
        Assert.Equal("approval", signal.Name);
        Assert.Equal(Payload.FromJson("""{"approved":true,"by":"ops"}"""), signal.Payload);
        Assert.Equal("child-process", signal.Sender);

        // The suspended run became due, so a worker replays it.
        var run = await store.GetRunAsync(target);
        Assert.Equal(RunStatus.Suspended, run!.Status);
        Assert.True(run.WakeAt <= DateTimeOffset.UtcNow, $"The run should be due now, but wakes at {run.WakeAt}.");
        Assert.True(during > 0, "The host appended nothing while the child ran; the test did not exercise concurrency.");
        Assert.Empty(await store.ReadSignalsAsync(target, signal.SignalId));
    }

    [Fact]
    public async Task ReadAsync_FromChildWhileHostAppends_ChildSeesAcknowledgedPrefixIntact()
    {
        await using var store = await SqliteJournalStore.OpenAsync(StorePath);
        await using var load = new AppendLoad(store, runs: 1);
        var runId = AppendLoad.RunIdOf(0);
        await load.WaitForAsync(50).WaitAsync(Timeout);

        var before = load.Acknowledged;
        var printed = await ChildProcess.RunAsync("read", StorePath, runId.Value).WaitAsync(Timeout);
        var after = load.Acknowledged;
        await load.StopAsync();

        var seen = printed.Split('\n').Select(line => JournalSerializer.Deserialize(System.Text.Encoding.UTF8.GetBytes(line))).ToList();
        output.WriteLine($"host had acknowledged {before} entries when the child started and {after} when it exited; the child read {seen.Count}");

        // The child sees a consistent snapshot: everything acknowledged before it started, at most the one append in flight after it exited.
        Assert.InRange(seen.Count, before, after + 1);
        var written = await store.ReadAsync(runId);
        Assert.Equal(written.Take(seen.Count), seen);
        Assert.True(after > before, "The host appended nothing while the child read; the test did not exercise concurrency.");
    }

    public void Dispose() => _folder.Dispose();

    private static DateTimeOffset At(long seq) => DateTimeOffset.UnixEpoch.AddSeconds(1_700_000_000 + seq);

    private static RunStarted Started(long seq) => new() { Sequence = seq, Timestamp = At(seq), Workflow = "cross-process" };

    // Appends to its runs, each sequentially, until stopped; counts acknowledged appends.
    private sealed class AppendLoad : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _task;
        private long _acknowledged;

        public AppendLoad(IJournalStore store, int runs)
        {
            _task = Task.WhenAll(Enumerable.Range(0, runs).Select(r => Task.Run(async () =>
            {
                var runId = RunIdOf(r);
                for (long seq = 0; !_stop.IsCancellationRequested; seq++)
                {
                    JournalEntry entry = seq == 0 ? Started(0) : new StepCompleted { Sequence = seq, Timestamp = At(seq), Step = (int)seq, Result = Payload.FromValue($"load {r} {seq}") };
                    await store.AppendAsync(new RunAppend(runId, seq, [entry]));
                    Interlocked.Increment(ref _acknowledged);
                }
            })));
        }

        public long Acknowledged => Interlocked.Read(ref _acknowledged);

        public static RunId RunIdOf(int run) => new($"load-{run}");

        public async Task WaitForAsync(long count)
        {
            while (Acknowledged < count && !_task.IsCompleted)
            {
                await Task.Yield();
            }

            if (_task.IsFaulted)
            {
                await _task;
            }
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _task.WaitAsync(Timeout);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAny(_task);
            _stop.Dispose();
        }
    }
}
