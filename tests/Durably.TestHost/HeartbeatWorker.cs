using System.Globalization;
using Durably.Postgres;
using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Extensions.Logging;

namespace Durably.TestHost;

// `heartbeat-worker sqlite PATH WORKER LEASE_MS` or `heartbeat-worker pg CONNECTION SCHEMA WORKER LEASE_MS`: a worker process that
// executes the step-timeout workflows below until standard input closes or it is killed (or frozen with SIGSTOP). It prints
// "ready WORKER" once started, and a line for each thing the tests watch for, flushed at once:
//   "effect WORKER RUN KEY ATTEMPT EPOCH"  when the heartbeat-effect step's body starts (before it does anything);
//   "step-started WORKER RUN"              when the cancellable step's body starts;
//   "token-cancelled WORKER RUN"           when that body sees its token cancelled.
// A worker whose name starts with "victim" never finishes the heartbeat-effect step: it heartbeats forever, so the run moves on
// only when another worker takes it over; any other worker completes the step at once.
public static class HeartbeatWorker
{
    public const string EffectWorkflow = "heartbeat-effect";

    public const string CancellableWorkflow = "cancellable";

    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(string[] args)
    {
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        }).SetMinimumLevel(LogLevel.Warning));
        IJournalStore store;
        string worker;
        int leaseMs;
        switch (args)
        {
            case ["sqlite", var path, var name, var lease]:
                store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });
                (worker, leaseMs) = (name, int.Parse(lease, CultureInfo.InvariantCulture));
                break;
            case ["pg", var connection, var schema, var name, var lease]:
                store = await PostgresJournalStore.OpenAsync(new PostgresJournalStoreOptions { ConnectionString = connection, Schema = schema, SchemaMode = PostgresSchemaMode.Validate });
                (worker, leaseMs) = (name, int.Parse(lease, CultureInfo.InvariantCulture));
                break;
            default:
                Console.Error.WriteLine("usage: heartbeat-worker sqlite PATH WORKER LEASE_MS | heartbeat-worker pg CONNECTION SCHEMA WORKER LEASE_MS");
                return 2;
        }

        await using (store)
        {
            await using var runtime = new DurableRuntime(
                store,
                new DurableRuntimeOptions
                {
                    WorkerId = worker,
                    LeaseDuration = TimeSpan.FromMilliseconds(leaseMs),
                    PollInterval = TimeSpan.FromMilliseconds(200),
                    DefaultRetry = RetryPolicy.None,
                },
                loggers);
            Register(runtime, worker);
            await runtime.StartAsync();
            Say($"ready {worker}");
            await Console.In.ReadToEndAsync();
            await runtime.StopAsync();
        }

        return 0;
    }

    private static void Register(DurableRuntime runtime, string worker)
    {
        // Input: the effect's in-doubt policy ("Retry" or "Fail").
        runtime.Register<string, string>(EffectWorkflow, async (ctx, policy) => await ctx.StepAsync(
            "charge",
            async step =>
            {
                Say($"effect {worker} {step.RunId} {step.IdempotencyKey} {step.Attempt} {step.FencingToken}");
                if (worker.StartsWith("victim", StringComparison.Ordinal))
                {
                    while (true)
                    {
                        step.Heartbeat("charging");
                        await Task.Delay(200, step.CancellationToken);
                    }
                }

                return $"charged by {worker}";
            },
            StepOptions.Effect(Enum.Parse<InDoubtPolicy>(policy)) with { HeartbeatTimeout = Heartbeat }));

        // Input: whether the step has a heartbeat timeout.
        runtime.Register<bool, string>(CancellableWorkflow, async (ctx, heartbeat) => await ctx.StepAsync(
            "long-call",
            async step =>
            {
                Say($"step-started {worker} {step.RunId}");
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, step.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Say($"token-cancelled {worker} {step.RunId}");
                    throw;
                }

                return "never";
            },
            new StepOptions { HeartbeatTimeout = heartbeat ? Heartbeat : null }));
    }

    private static void Say(string line)
    {
        lock (Console.Out)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}
