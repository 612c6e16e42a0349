using System.Globalization;
using System.Text;
using Durably;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;
using Durably.TestHost;

// Commands used by the crash and cross-process tests. Every line written to stdout is flushed at
// once, so that a parent that kills this process knows exactly what was acknowledged before the kill.
var output = Console.Out;
return args switch
{
    ["append-loop", var path, var runs, var seed] => await AppendLoopAsync(path, int.Parse(runs, CultureInfo.InvariantCulture), int.Parse(seed, CultureInfo.InvariantCulture)),
    ["deliver-signal", var path, var runId, var name, var json] => await DeliverSignalAsync(path, runId, name, json),
    ["workflow", var path, var runId, var ledger, var crashAfter] => await WorkflowCommand.RunAsync(path, runId, ledger, int.Parse(crashAfter, CultureInfo.InvariantCulture)),
    ["read", var path, var runId] => await ReadAsync(path, runId),
    ["agent", var path, var runId, var workflow] => await AgentWorkflows.HostAsync(path, runId, workflow),
    ["pg-worker", var connection, var schema, var worker, var leaseMs] => await PgWorkerCommand.RunAsync(connection, schema, worker, int.Parse(leaseMs, CultureInfo.InvariantCulture), childLedger: null),
    ["pg-worker", var connection, var schema, var worker, var leaseMs, var childLedger] => await PgWorkerCommand.RunAsync(connection, schema, worker, int.Parse(leaseMs, CultureInfo.InvariantCulture), childLedger),
    ["pg-queue-worker", var connection, var schema, var worker, var leaseMs] => await QueueCommands.PgWorkerAsync(connection, schema, worker, int.Parse(leaseMs, CultureInfo.InvariantCulture)),
    ["queue-start", var path, var queue, var key, var windowMs, var count, var prefix] => await QueueCommands.StartDebouncedAsync(path, queue, key, int.Parse(windowMs, CultureInfo.InvariantCulture), int.Parse(count, CultureInfo.InvariantCulture), prefix),
    ["children", var path, var runId, var ledger, .. var topics] when topics.Length > 0 => await ChildWorkflows.HostAsync(path, runId, ledger, topics),
    ["shared-worker", var path, var worker, var ledger] => await SharedWorker.RunAsync(path, worker, ledger),
    ["default-host", var path, var runId, var gate] => await DefaultHost.RunAsync(path, runId, gate),
    ["claim", var path, var runId, var owner] => await ClaimAsync(path, runId, owner),
    ["blob-append-loop", var path, var runs] => await BlobAppendLoop.RunAsync(path, int.Parse(runs, CultureInfo.InvariantCulture)),
    ["schedule-worker", "sqlite", var path, var worker, var ledger] => await ScheduleWorker.RunSqliteAsync(path, worker, ledger),
    ["schedule-worker", "pg", var connection, var schema, var worker, var leaseMs] => await ScheduleWorker.RunPostgresAsync(connection, schema, worker, int.Parse(leaseMs, CultureInfo.InvariantCulture)),
    ["heartbeat-worker", .. var rest] => await HeartbeatWorker.RunAsync(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: append-loop PATH RUNS SEED | deliver-signal PATH RUN NAME JSON | read PATH RUN | workflow PATH RUN LEDGER CRASH_AFTER_STEP | agent PATH RUN WORKFLOW | pg-worker CONNECTION SCHEMA WORKER LEASE_MS [CHILD_LEDGER] | children PATH RUN LEDGER TOPIC... | shared-worker PATH WORKER LEDGER | default-host PATH RUN|- GATE | claim PATH RUN OWNER | pg-queue-worker CONNECTION SCHEMA WORKER LEASE_MS | queue-start PATH QUEUE KEY WINDOW_MS COUNT PREFIX | schedule-worker sqlite PATH WORKER LEDGER | schedule-worker pg CONNECTION SCHEMA WORKER LEASE_MS | heartbeat-worker sqlite PATH WORKER LEASE_MS | heartbeat-worker pg CONNECTION SCHEMA WORKER LEASE_MS");
    return 2;
}

// Appends to RUNS runs concurrently, each sequentially and forever, printing 'ack RUN SEQ' after each
// append completes (is durable). The entries are CrashWorkload's, so the parent can recompute them.
async Task<int> AppendLoopAsync(string path, int runs, int seed)
{
    await using var store = await SqliteJournalStore.OpenAsync(path);
    var gate = new Lock();
    await Task.WhenAll(Enumerable.Range(0, runs).Select(r => Task.Run(async () =>
    {
        var runId = CrashWorkload.RunIdOf(seed, r);
        for (long seq = 0; ; seq++)
        {
            await store.AppendAsync(new RunAppend(runId, seq, [CrashWorkload.EntryAt(seed, r, seq)]));
            Ack(runId, seq);
        }
    })));
    return 0;

    void Ack(RunId runId, long seq)
    {
        lock (gate)
        {
            output.WriteLine($"ack {runId} {seq}");
            output.Flush();
        }
    }
}

static async Task<int> DeliverSignalAsync(string path, string runId, string name, string json)
{
    await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });
    var signal = await store.DeliverSignalAsync(new RunId(runId), new SignalMessage(name, Payload.FromJson(json), "child-process"));
    Console.WriteLine(signal.SignalId.ToString(CultureInfo.InvariantCulture));
    return 0;
}

// Prints the run's journal as read through the store, one serialized entry per line.
async Task<int> ReadAsync(string path, string runId)
{
    await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });
    foreach (var entry in await store.ReadAsync(new RunId(runId)))
    {
        output.WriteLine(Encoding.UTF8.GetString(JournalSerializer.Serialize(entry)));
    }

    output.Flush();
    return 0;
}

// Claims the run for OWNER with a 30-second lease, prints 'claimed EPOCH', and holds it until killed.
static async Task<int> ClaimAsync(string path, string runId, string owner)
{
    await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });
    var lease = await store.TryClaimRunAsync(new RunId(runId), owner, TimeSpan.FromSeconds(30));
    Console.WriteLine(lease is null ? "not-claimed" : "claimed " + lease.Epoch.ToString(CultureInfo.InvariantCulture));
    Console.Out.Flush();
    await Task.Delay(Timeout.Infinite);
    return 0;
}
