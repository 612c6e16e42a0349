using Durably.Sqlite;

namespace Durably.TestHost;

/// <summary>A lead agent that hands topics to sub-agents, each a child run, for the kill -9 tests of child runs.</summary>
/// <remarks>
/// <para><c>lead</c> starts one <c>sub-agent</c> child per topic, all at once, then publishes. A sub-agent's effect <c>fetch</c>
/// appends <c>fetch KEY WORKER</c> to the ledger file; its effect <c>write</c> waits until the file <c>LEDGER.go</c> exists,
/// then appends <c>write KEY WORKER</c>; it prints <c>at-gate KEY</c> to standard output as it begins to wait. <c>publish</c> appends <c>publish KEY WORKER</c>. A test kills the host while every
/// sub-agent waits at the gate (it has printed <c>at-gate</c>), so the ledger tells which bodies ran how often, and on which worker.</para>
/// <para>Appends take an exclusive lock on the file, so several processes can share one ledger.</para>
/// </remarks>
public static class ChildWorkflows
{
    /// <summary>The parent's workflow name.</summary>
    public const string Lead = "lead";

    /// <summary>The child's workflow name.</summary>
    public const string SubAgent = "sub-agent";

    /// <summary>Registers both workflows; effect bodies append to <paramref name="ledger"/>.</summary>
    public static void Register(DurableRuntime runtime, string ledger, string worker)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        runtime.Register<string, string>(SubAgent, async (ctx, topic) =>
        {
            var notes = await ctx.StepAsync("fetch", async step =>
            {
                await AppendAsync(ledger, $"fetch {step.IdempotencyKey} {worker}");
                return $"notes on {topic}";
            }, StepOptions.IdempotentEffect);
            return await ctx.StepAsync("write", async step =>
            {
                // The effect's intent is durable here, and so is everything before it: fetch's outcome.
                Console.WriteLine($"at-gate {step.IdempotencyKey}");
                Console.Out.Flush();
                while (!File.Exists(ledger + ".go"))
                {
                    await Task.Delay(20, step.CancellationToken);
                }

                await AppendAsync(ledger, $"write {step.IdempotencyKey} {worker}");
                return $"{notes}, written";
            }, StepOptions.IdempotentEffect);
        });
        runtime.Register<string[], string>(Lead, async (ctx, topics) =>
        {
            var reports = await Task.WhenAll(topics.Select(t => ctx.RunChildAsync<string, string>(SubAgent, t, new ChildRunOptions { Name = "sub-agent " + t })));
            var report = string.Join("; ", reports);
            await ctx.StepAsync("publish", step => AppendAsync(ledger, $"publish {step.IdempotencyKey} {worker}"), StepOptions.IdempotentEffect);
            return report;
        });
    }

    /// <summary>The lead's result for <paramref name="topics"/>.</summary>
    public static string Expected(IEnumerable<string> topics) => string.Join("; ", topics.Select(t => $"notes on {t}, written"));

    // `children STORE RUN LEDGER TOPIC...`: hosts both workflows on a SQLite store, starts (or finds) RUN of the lead with the
    // topics, prints "started RUN", and "result TEXT" once it has finished.
    internal static async Task<int> HostAsync(string storePath, string runId, string ledger, string[] topics)
    {
        await using var store = await SqliteJournalStore.OpenAsync(storePath);
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { PollInterval = TimeSpan.FromMilliseconds(100) });
        Register(runtime, ledger, runtime.Options.WorkerId);
        await runtime.StartAsync();
        var handle = await runtime.Client.StartAsync(Lead, topics, new StartRunOptions { RunId = new RunId(runId) });
        Console.WriteLine($"started {handle.RunId}");
        Console.Out.Flush();
        Console.WriteLine("result " + await handle.GetResultAsync<string>());
        Console.Out.Flush();
        return 0;
    }

    private static async Task AppendAsync(string path, string line)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
        while (true)
        {
            try
            {
                await using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None);
                await file.WriteAsync(bytes);
                await file.FlushAsync();
                return;
            }
            catch (IOException)
            {
                await Task.Delay(1);
            }
        }
    }
}
