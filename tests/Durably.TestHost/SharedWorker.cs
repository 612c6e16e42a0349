using Durably.Sqlite;
using Durably.Storage;

namespace Durably.TestHost;

// `shared-worker STORE WORKER LEDGER`: one of several hosts on the same SQLite journal. It executes whatever runs of
// the "ledgered" workflow it can claim, at most four at a time, and exits once no run in the store is unfinished.
// Every step body waits for the file LEDGER.go, then appends "WORKER RUN KEY" to LEDGER, so the test sees who
// executed what.
public static class SharedWorker
{
    public const string Workflow = "ledgered";

    public const int Steps = 4;

    public static async Task<int> RunAsync(string storePath, string worker, string ledger)
    {
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = storePath, CreateIfMissing = false });
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions
        {
            WorkerId = worker,
            MaxConcurrentRuns = 4,
            PollInterval = TimeSpan.FromMilliseconds(100),
            DefaultRetry = RetryPolicy.None,
        });
        Register(runtime, worker, ledger);
        await runtime.StartAsync();
        Console.WriteLine($"started {worker}");

        var unfinished = new RunQuery { Statuses = [RunStatus.Pending, RunStatus.Running, RunStatus.Suspended], PageSize = 1 };
        while ((await store.ListRunsAsync(unfinished)).Runs.Count > 0)
        {
            await Task.Delay(100);
        }

        await runtime.StopAsync();
        Console.WriteLine($"done {worker}");
        return 0;
    }

    private static void Register(DurableRuntime runtime, string worker, string ledger)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        runtime.Register<int, int>(Workflow, async (ctx, input) =>
        {
            var total = input;
            for (var i = 1; i <= Steps; i++)
            {
                var step = i;
                total += await ctx.StepAsync($"effect-{step}", async s =>
                {
                    // The test opens the gate once both hosts have started, so that each has claimed runs by then.
                    while (!File.Exists(ledger + ".go"))
                    {
                        await Task.Delay(10);
                    }

                    await AppendLineAsync(ledger, $"{worker} {ctx.RunId} {s.IdempotencyKey}\n");
                    await Task.Delay(20);
                    return step;
                }, StepOptions.IdempotentEffect);
            }

            return total;
        });
    }

    // .NET appends by seeking to the end, not with O_APPEND, so two processes appending at once can overwrite each
    // other's line. FileShare.None takes an exclusive lock on the file; the other process waits its turn.
    private static async Task AppendLineAsync(string path, string line)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(line);
        while (true)
        {
            try
            {
                await using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None);
                await file.WriteAsync(bytes);
                return;
            }
            catch (IOException)
            {
                await Task.Delay(1);
            }
        }
    }

    // The result of a run started with this input.
    public static int Expected(int input) => input + Enumerable.Range(1, Steps).Sum();
}
