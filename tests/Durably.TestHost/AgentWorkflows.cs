using System.Diagnostics;
using Durably;
using Durably.Journal;
using Durably.Sqlite;

// Workflows for the CLI and dashboard tests, shaped like a real agent: model calls with token usage, a tool call that
// fails once and is retried, an approval gate, and an email step whose in-doubt policy asks a person.
public static class AgentWorkflows
{
    public const string Research = "research";
    public const string Mailer = "mailer";
    public const string Streaming = "streaming";

    // The text the streaming workflow's model step reports, chunk by chunk.
    public static readonly IReadOnlyList<string> StreamChunks = [.. Enumerable.Range(1, 40).Select(i => $"chunk{i} ")];

    public static void Register(DurableRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        runtime.Register<string, string>(Research, async (ctx, topic) =>
        {
            var outline = await ctx.StepAsync("plan", async step =>
            {
                await Task.Delay(40);
                step.ReportUsage(new TokenUsage(1250, 310));
                return $"outline of {topic}";
            }, StepOptions.Model);
            var sources = await ctx.StepAsync("search-web", async step =>
            {
                await Task.Delay(25);
                if (step.Attempt == 1)
                {
                    throw new HttpRequestException("503 Service Unavailable");
                }

                return 12;
            }, StepOptions.IdempotentEffect with { Retry = new RetryPolicy { MaxAttempts = 3, InitialDelay = TimeSpan.FromMilliseconds(50), Jitter = 0 } });
            var draft = await ctx.StepAsync("write-draft", async step =>
            {
                await Task.Delay(120);
                step.ReportUsage(new TokenUsage(4200, 1830));
                return $"draft from {sources} sources: {outline}";
            }, StepOptions.Model);
            var decision = await ctx.WaitForApprovalAsync("publish");
            if (!decision.Approved)
            {
                return $"rejected by {decision.Approver}";
            }

            await ctx.StepAsync("publish", _ => Task.FromResult(draft.Length), StepOptions.IdempotentEffect);
            return $"published by {decision.Approver}: {decision.Comment}";
        });

        // Waits for the signal "go", then streams a reply slowly (about six seconds) as a model step's progress, then publishes.
        runtime.Register<string, string>(Streaming, async (ctx, topic) =>
        {
            await ctx.WaitForSignalAsync<string>("go");
            var reply = await ctx.StepAsync("write-draft", async step =>
            {
                foreach (var chunk in StreamChunks)
                {
                    await Task.Delay(150, step.CancellationToken);
                    step.ReportProgress(chunk);
                }

                return string.Concat(StreamChunks);
            }, StepOptions.Model);
            return await ctx.StepAsync("publish", _ => Task.FromResult($"{topic}: {reply.Length} characters"), StepOptions.IdempotentEffect);
        });

        // The body kills the process once when the crash marker exists: the intent is durable, the outcome never written.
        runtime.Register<string, string>(Mailer, async (ctx, to) => await ctx.StepAsync("send-email", _ =>
        {
            var marker = Environment.GetEnvironmentVariable("DURABLY_TEST_CRASH_MARKER");
            if (marker is not null && File.Exists(marker))
            {
                File.Delete(marker);
                Process.GetCurrentProcess().Kill();
            }

            return Task.FromResult($"sent to {to}");
        }, new StepOptions { Kind = StepKind.Effect }));
    }

    // `agent STORE RUN WORKFLOW`: hosts the workflows on STORE, starts RUN (or finds it) and prints its result when it finishes.
    public static async Task<int> HostAsync(string storePath, string runId, string workflow)
    {
        await using var store = await SqliteJournalStore.OpenAsync(storePath);
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions
        {
            WorkerId = "cli-test-host",
            PollInterval = TimeSpan.FromMilliseconds(100),
            MaxInMemoryWait = TimeSpan.FromSeconds(1),
        });
        Register(runtime);
        await runtime.StartAsync();
        var handle = await runtime.Client.StartAsync(workflow, "write-ahead logging", new StartRunOptions { RunId = new RunId(runId) });
        Console.WriteLine($"started {handle.RunId}");
        try
        {
            Console.WriteLine("result " + await handle.GetResultAsync<string>());
            return 0;
        }
        catch (RunFailedException ex)
        {
            Console.WriteLine("failed " + ex.Message);
            return 1;
        }
    }
}
