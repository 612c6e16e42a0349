using Durably;
using Durably.Postgres;
using Durably.TestHost;
using Microsoft.Extensions.Logging;
using Npgsql;

// `pg-worker CONNECTION SCHEMA WORKER LEASE_MS [CHILD_LEDGER]`: a worker process on a PostgreSQL store (opened with Validate)
// that executes LedgerWorkflow runs (and, given CHILD_LEDGER, ChildWorkflows runs appending to that file) until standard input closes or it is killed. It sets the connections' application name to WORKER, so
// the database can tell its writes from other workers', logs to the console (the runtime says when it loses a lease), and
// prints "ready WORKER" once it has started. It executes up to 400 runs at once, as many as the busiest test here starts
// (PostgresWorkerProcessTests: 25, then one every 200 ms, at most 400), so a live worker always has room for a dead worker's
// runs and takes them over as soon as their leases expire, not when a slot frees up. With 30 slots each, the two workers left
// after a kill had 60: on a loaded machine, where each run takes longer than its usual eight seconds, more than 60 runs were
// in flight and a takeover waited for a run to finish (a takeover 4.0 s after the kill against a bound of 4 s, seen once).
internal static class PgWorkerCommand
{
    public static async Task<int> RunAsync(string connectionString, string schema, string worker, int leaseMilliseconds, string? childLedger)
    {
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        }).SetMinimumLevel(LogLevel.Information));
        var named = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = worker }.ConnectionString;
        await using var ledger = NpgsqlDataSource.Create(named);
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
                MaxConcurrentRuns = 400,
            },
            loggers);
        LedgerWorkflow.Register(runtime, ledger, schema, worker);
        if (childLedger is not null)
        {
            ChildWorkflows.Register(runtime, childLedger, worker);
        }
        await runtime.StartAsync();
        Console.WriteLine($"ready {worker}");
        Console.Out.Flush();
        await Console.In.ReadToEndAsync();
        await runtime.StopAsync();
        return 0;
    }
}
