using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Durably;
using Durably.Journal;
using Durably.Sqlite;

// `workflow STORE RUN LEDGER CRASH_AFTER_STEP`: runs a 12-step workflow (compute steps and effect steps) on a
// SQLite journal and, when CRASH_AFTER_STEP > 0, kills itself with SIGKILL right after that step's outcome is durable.
// Every step body appends "body NAME KEY" to LEDGER.bodies; effect bodies also apply themselves to LEDGER, an
// external target that deduplicates by idempotency key, as a payment API would.
internal static class WorkflowCommand
{
    public static readonly string[] Steps =
    [
        "plan", "fetch-weather", "fetch-news", "fetch-prices", "analyze", "write-summary-file",
        "write-data-file", "notify-chat", "draft", "review", "publish", "summarize",
    ];

    private static bool IsEffect(string name) => name.StartsWith("fetch", StringComparison.Ordinal) || name.StartsWith("write", StringComparison.Ordinal) || name is "notify-chat" or "publish";

    public static async Task<int> RunAsync(string storePath, string runId, string ledger, int crashAfterStep)
    {
        await using var store = await SqliteJournalStore.OpenAsync(storePath);
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "crash-host", DefaultRetry = RetryPolicy.None });
        if (crashAfterStep > 0)
        {
            runtime.AddObserver(new CrashAfter(crashAfterStep));
        }

        runtime.Register<string, string>("twelve-steps", async (ctx, topic) =>
        {
            var results = new List<string>();
            foreach (var name in Steps)
            {
                var previous = results.Count == 0 ? topic : results[^1];
                var options = IsEffect(name) ? StepOptions.IdempotentEffect : new StepOptions();
                results.Add(await ctx.StepAsync(name, step =>
                {
                    File.AppendAllText(ledger + ".bodies", $"body {name} {step.IdempotencyKey}\n");
                    if (IsEffect(name))
                    {
                        Apply(ledger, step.IdempotencyKey);
                    }

                    return Task.FromResult($"{name}({previous.Length})");
                }, options));
            }

            return string.Join(" ", results);
        });

        await runtime.StartAsync();
        var handle = await runtime.Client.StartAsync("twelve-steps", "durable agents", new StartRunOptions { RunId = new RunId(runId) });
        var result = await handle.GetResultAsync<string>();
        Console.WriteLine("result " + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(result))));
        return 0;
    }

    // The target applies each idempotency key once, like an API honouring Idempotency-Key.
    private static void Apply(string ledger, string key)
    {
        using var file = new FileStream(ledger, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        using var reader = new StreamReader(file, leaveOpen: true);
        var applied = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (!applied.Contains("applied " + key))
        {
            file.Seek(0, SeekOrigin.End);
            file.Write(Encoding.UTF8.GetBytes("applied " + key + "\n"));
            file.Flush(flushToDisk: true);
        }
    }

    private sealed class CrashAfter(int step) : RunObserver
    {
        public override void OnStepCompleted(RunId runId, StepInfo info, TimeSpan duration, TokenUsage? usage, bool failed)
        {
            if (info.Step == step)
            {
                // SIGKILL: no finally blocks, no disposal, exactly as an OOM kill or a power-pulled container.
                Process.GetCurrentProcess().Kill();
            }
        }
    }
}
