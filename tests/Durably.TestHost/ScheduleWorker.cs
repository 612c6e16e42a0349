using Durably.Postgres;
using Durably.Scheduling;
using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Durably.TestHost;

// `schedule-worker sqlite PATH WORKER LEDGER` and `schedule-worker pg CONNECTION SCHEMA WORKER LEASE_MS`: a worker whose
// code registers the schedule "tick" (every second, AllowAll) of the "ticker" workflow. Each run has one effect step that
// records its idempotency key in a ledger that, like an API honouring Idempotency-Key, applies a key once and logs every
// attempt: a file LEDGER (and LEDGER.attempts) on SQLite, the tables ticks and tick_attempts in SCHEMA on PostgreSQL.
// Prints "ready WORKER" once started and runs until killed or until standard input closes.
public static class ScheduleWorker
{
    public const string ScheduleId = "tick";

    public const string Workflow = "ticker";

    public static string LedgerSql(string schema) => $"""
        CREATE TABLE {schema}.ticks(key text PRIMARY KEY, run_id text NOT NULL, worker text NOT NULL);
        CREATE TABLE {schema}.tick_attempts(id bigserial PRIMARY KEY, key text NOT NULL, worker text NOT NULL);
        """;

    public static async Task<int> RunSqliteAsync(string path, string worker, string ledger)
    {
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });
        return await HostAsync(store, worker, TimeSpan.FromSeconds(30), (key, runId) => AppendOnceAsync(ledger, key, $"{key} {runId} {worker}"));
    }

    public static async Task<int> RunPostgresAsync(string connectionString, string schema, string worker, int leaseMilliseconds)
    {
        var named = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = worker }.ConnectionString;
        await using var ledger = NpgsqlDataSource.Create(named);
        await using var store = await PostgresJournalStore.OpenAsync(new PostgresJournalStoreOptions { ConnectionString = named, Schema = schema, SchemaMode = PostgresSchemaMode.Validate });
        var apply = $"""
            WITH applied AS (INSERT INTO {schema}.ticks(key, run_id, worker) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING RETURNING 1)
            INSERT INTO {schema}.tick_attempts(key, worker) VALUES ($1, $3)
            """;
        return await HostAsync(store, worker, TimeSpan.FromMilliseconds(leaseMilliseconds), async (key, runId) =>
        {
            await using var command = ledger.CreateCommand(apply);
            command.Parameters.Add(new NpgsqlParameter { Value = key });
            command.Parameters.Add(new NpgsqlParameter { Value = runId.Value });
            command.Parameters.Add(new NpgsqlParameter { Value = worker });
            await command.ExecuteNonQueryAsync();
        });
    }

    private static async Task<int> HostAsync(IJournalStore store, string worker, TimeSpan lease, Func<string, RunId, Task> applyEffect)
    {
        // The runtime's log (fires, lost leases, scheduler errors) goes to the console for the test's failure messages.
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        }).SetMinimumLevel(LogLevel.Information));
        await using var runtime = new DurableRuntime(
            store,
            new DurableRuntimeOptions { WorkerId = worker, LeaseDuration = lease, PollInterval = TimeSpan.FromMilliseconds(200), DefaultRetry = RetryPolicy.None },
            loggers);
        runtime.Register<string, string>(Workflow, async (ctx, input) =>
        {
            return await ctx.StepAsync("record", async step =>
            {
                // In flight for a while on either side of the effect, so that a kill lands inside runs, and sometimes inside
                // the in-doubt window between the effect and its journaled outcome.
                await Task.Delay(150, step.CancellationToken);
                await applyEffect(step.IdempotencyKey, ctx.RunId);
                await Task.Delay(150, step.CancellationToken);
                return $"{input} {step.IdempotencyKey}";
            }, StepOptions.IdempotentEffect);
        });
        runtime.AddSchedule(ScheduleDefinition.Every(ScheduleId, Workflow, TimeSpan.FromSeconds(1), "tick") with { Overlap = ScheduleOverlap.AllowAll });
        await runtime.StartAsync();
        Console.WriteLine($"ready {worker}");
        Console.Out.Flush();
        await Console.In.ReadToEndAsync();
        await runtime.StopAsync();
        return 0;
    }

    // Every run in the store, with the fire time its id names (runs of other ids fail the parse: a test sees them as null).
    public static async Task<List<(RunRecord Run, DateTimeOffset? Fire)>> ReadFiresAsync(IJournalStore store)
    {
        var found = new List<(RunRecord, DateTimeOffset?)>();
        string? token = null;
        do
        {
            var page = await store.ListRunsAsync(new RunQuery { PageSize = 1000, ContinuationToken = token });
            foreach (var run in page.Runs)
            {
                found.Add((run, ScheduleRunIds.TryParseFire(run.RunId, out var id, out var fire) && id == ScheduleId ? fire : null));
            }

            token = page.ContinuationToken;
        }
        while (token is not null);
        return found;
    }

    // Appends the line unless the key is in the ledger already, under an exclusive lock on the file (FileShare.None), so that
    // two processes neither interleave nor both apply one key. Every attempt is logged to LEDGER.attempts.
    private static async Task AppendOnceAsync(string ledger, string key, string line)
    {
        while (true)
        {
            try
            {
                await using var file = new FileStream(ledger, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                using var reader = new StreamReader(file, leaveOpen: true);
                var text = await reader.ReadToEndAsync();
                await File.AppendAllTextAsync(ledger + ".attempts", line + "\n");
                if (!text.Split('\n').Any(l => l.StartsWith(key + " ", StringComparison.Ordinal)))
                {
                    file.Seek(0, SeekOrigin.End);
                    await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(line + "\n"));
                    await file.FlushAsync();
                    file.Flush(flushToDisk: true);
                }

                return;
            }
            catch (IOException)
            {
                await Task.Delay(1);
            }
        }
    }
}
