using System.Globalization;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;

namespace Durably.TestHost;

// `default-host STORE RUN GATE`: a host with default options everywhere (store; runtime: worker id {machine}:{pid}, lease
// 30 seconds, poll every second), as in the quick start. It executes the three-step "gated" workflow, whose step "two"
// prints "in-two RUN EPOCH MS" and then waits until the file GATE.RUN exists. With RUN other than "-" it starts (or finds)
// that run and exits when it has finished; with "-" it executes what it can claim until it is killed.
// It prints "opening MS" before opening the store, "opened MS" once the store is open, "started MS" once the runtime has made its start-up claim,
// "claim-pass LEASE_MS RUN:EPOCH:EXPIRES_MS ..." after each claim the runtime makes (the runs it took, if any) and
// "finished RUN STATUS RESULT" for each run it finishes. Times are Unix milliseconds by the system clock, the store's clock.
public static class DefaultHost
{
    public const string Workflow = "gated";

    public static async Task<int> RunAsync(string storePath, string runId, string gate)
    {
        Print($"opening {Now()}");
        await using var store = new ClaimPrinter(await SqliteJournalStore.OpenAsync(storePath));
        Print($"opened {Now()}");
        await using var runtime = new DurableRuntime(store);
        runtime.AddObserver(new FinishPrinter());
        runtime.Register<int, int>(Workflow, async (ctx, input) =>
        {
            var one = await ctx.StepAsync("one", _ => Task.FromResult(1));
            var two = await ctx.StepAsync("two", async step =>
            {
                Print($"in-two {step.RunId} {step.FencingToken.ToString(CultureInfo.InvariantCulture)} {Now()}");
                while (!File.Exists($"{gate}.{step.RunId}"))
                {
                    await Task.Delay(10, step.CancellationToken);
                }

                return 2;
            });
            var three = await ctx.StepAsync("three", _ => Task.FromResult(3));
            return input + one + two + three;
        });

        await runtime.StartAsync();
        Print($"started {Now()}");
        if (runId == "-")
        {
            await Task.Delay(Timeout.Infinite);
        }

        var handle = await runtime.Client.StartAsync(Workflow, 10, new StartRunOptions { RunId = new RunId(runId) });
        await handle.GetResultAsync<int>();
        return 0;
    }

    private static string Now() => Millis(TimeProvider.System.GetUtcNow());

    private static string Millis(DateTimeOffset time) => time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    private static void Print(string line)
    {
        lock (Console.Out)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }

    private sealed class FinishPrinter : RunObserver
    {
        public override void OnRunFinished(RunId runId, RunStatus status, Payload? result, ErrorInfo? error)
            => Print($"finished {runId} {status} {result?.ToValue<int>().ToString(CultureInfo.InvariantCulture)}");
    }

    // Passes every call to the SQLite store and prints what each claim took, so a test sees every claim pass of this host.
    private sealed class ClaimPrinter(SqliteJournalStore inner) : IJournalStore
    {
        public async Task<IReadOnlyList<RunLease>> ClaimRunsAsync(ClaimRequest request, CancellationToken cancellationToken = default)
        {
            var leases = await inner.ClaimRunsAsync(request, cancellationToken);
            var taken = leases.Select(l => $" {l.RunId}:{l.Epoch.ToString(CultureInfo.InvariantCulture)}:{Millis(l.ExpiresAt)}");
            Print($"claim-pass {((long)request.LeaseDuration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}{string.Concat(taken)}");
            return leases;
        }

        public ValueTask AppendAsync(IReadOnlyList<RunAppend> appends, CancellationToken cancellationToken = default) => inner.AppendAsync(appends, cancellationToken);

        public Task<IReadOnlyList<JournalEntry>> ReadAsync(RunId runId, long fromSequence = 0, CancellationToken cancellationToken = default) => inner.ReadAsync(runId, fromSequence, cancellationToken);

        public Task<RunRecord?> GetRunAsync(RunId runId, CancellationToken cancellationToken = default) => inner.GetRunAsync(runId, cancellationToken);

        public Task<RunPage> ListRunsAsync(RunQuery query, CancellationToken cancellationToken = default) => inner.ListRunsAsync(query, cancellationToken);

        public Task<DeliveredSignal> DeliverSignalAsync(RunId runId, SignalMessage signal, CancellationToken cancellationToken = default) => inner.DeliverSignalAsync(runId, signal, cancellationToken);

        public Task<IReadOnlyList<DeliveredSignal>> ReadSignalsAsync(RunId runId, long afterSignalId = 0, CancellationToken cancellationToken = default) => inner.ReadSignalsAsync(runId, afterSignalId, cancellationToken);

        public Task<RunLease?> TryClaimRunAsync(RunId runId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => inner.TryClaimRunAsync(runId, owner, leaseDuration, cancellationToken);

        public Task<RunLease> RenewLeaseAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => inner.RenewLeaseAsync(lease, leaseDuration, cancellationToken);

        public Task ReleaseLeaseAsync(RunLease lease, CancellationToken cancellationToken = default) => inner.ReleaseLeaseAsync(lease, cancellationToken);

        public Task<PurgeResult> PurgeRunsAsync(PurgeRequest request, CancellationToken cancellationToken = default) => inner.PurgeRunsAsync(request, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
