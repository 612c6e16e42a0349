using System.Globalization;
using Durably;
using Durably.Postgres;
using Durably.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Durably.TestHost;

/// <summary>Commands for the queue tests: a PostgreSQL worker that runs <see cref="QueuedWorkflow"/>, and a process that starts debounced runs on a SQLite file.</summary>
public static class QueueCommands
{
    /// <summary>The workflow the queue tests run: two steps, each recording when it entered and left in the database, by the database clock.</summary>
    public const string Workflow = "queued-steps";

    /// <summary>Returns the DDL of the table the steps record into.</summary>
    public static string SlotsSql(string schema) => $"""
        CREATE TABLE {schema}.slots(id bigserial PRIMARY KEY, run_id text NOT NULL, key text NOT NULL, step int NOT NULL, worker text NOT NULL, entered timestamptz NOT NULL, exited timestamptz);
        """;

    // `pg-queue-worker CONNECTION SCHEMA WORKER LEASE_MS`: executes queued-steps runs until standard input closes or it is killed;
    // prints "ready WORKER" once started. Each step inserts a slot row when it enters and sets its exit time when it leaves.
    public static async Task<int> PgWorkerAsync(string connectionString, string schema, string worker, int leaseMilliseconds)
    {
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        }).SetMinimumLevel(LogLevel.Warning));
        var named = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = worker }.ConnectionString;
        await using var slots = NpgsqlDataSource.Create(named);
        await using var store = await PostgresJournalStore.OpenAsync(new PostgresJournalStoreOptions
        {
            ConnectionString = named,
            Schema = schema,
            SchemaMode = PostgresSchemaMode.Validate,
            Logger = loggers.CreateLogger("Durably.Postgres"),
        });
        await using var runtime = new DurableRuntime(
            store,
            new DurableRuntimeOptions
            {
                WorkerId = worker,
                LeaseDuration = TimeSpan.FromMilliseconds(leaseMilliseconds),
                PollInterval = TimeSpan.FromMilliseconds(200),
                MaxConcurrentRuns = 30,
            },
            loggers);
        runtime.Register<string, string>(Workflow, async (ctx, key) =>
        {
            for (var step = 1; step <= 2; step++)
            {
                var number = step;
                await ctx.StepAsync($"work-{number}", async body =>
                {
                    long id;
                    await using (var enter = slots.CreateCommand($"INSERT INTO {schema}.slots(run_id, key, step, worker, entered) VALUES ($1, $2, $3, $4, clock_timestamp()) RETURNING id"))
                    {
                        enter.Parameters.Add(new NpgsqlParameter { Value = body.RunId.Value });
                        enter.Parameters.Add(new NpgsqlParameter { Value = key });
                        enter.Parameters.Add(new NpgsqlParameter { Value = number });
                        enter.Parameters.Add(new NpgsqlParameter { Value = worker });
                        id = (long)(await enter.ExecuteScalarAsync(body.CancellationToken))!;
                    }

                    await Task.Delay(Random.Shared.Next(300, 800), body.CancellationToken);
                    await using (var exit = slots.CreateCommand($"UPDATE {schema}.slots SET exited = clock_timestamp() WHERE id = $1"))
                    {
                        exit.Parameters.Add(new NpgsqlParameter { Value = id });
                        await exit.ExecuteNonQueryAsync(body.CancellationToken);
                    }

                    return number;
                });
            }

            return key;
        });
        await runtime.StartAsync();
        Console.WriteLine($"ready {worker}");
        Console.Out.Flush();
        await Console.In.ReadToEndAsync();
        await runtime.StopAsync();
        return 0;
    }

    // `queue-start PATH QUEUE KEY WINDOW_MS COUNT PREFIX`: waits for a line on standard input (so two processes start together),
    // then starts COUNT runs PREFIX-0.. on QUEUE for KEY with a debounce of WINDOW_MS, printing "started ID" or "debounced ID EXISTING".
    public static async Task<int> StartDebouncedAsync(string path, string queue, string key, int windowMilliseconds, int count, string prefix)
    {
        await using var store = await SqliteJournalStore.OpenAsync(path);
        var client = new DurableClient(store);
        Console.WriteLine("ready");
        Console.Out.Flush();
        _ = await Console.In.ReadLineAsync();
        for (var i = 0; i < count; i++)
        {
            var id = new RunId($"{prefix}-{i.ToString(CultureInfo.InvariantCulture)}");
            var handle = await client.StartAsync(Workflow, key, new StartRunOptions
            {
                RunId = id,
                Queue = queue,
                QueueKey = key,
                Debounce = TimeSpan.FromMilliseconds(windowMilliseconds),
                DebounceSignal = "merged",
            });
            Console.WriteLine(handle.IsDebounced ? $"debounced {id} {handle.RunId}" : $"started {handle.RunId}");
        }

        return 0;
    }
}
