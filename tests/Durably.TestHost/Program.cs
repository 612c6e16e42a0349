using System.Globalization;
using Durably;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;

// Commands used by the crash tests. Every line written to stdout is flushed at once, so that a
// parent that kills this process knows exactly what was acknowledged before the kill.
var output = Console.Out;
return args switch
{
    ["append-loop", var path, var runs, var seed] => await AppendLoopAsync(path, int.Parse(runs, CultureInfo.InvariantCulture), int.Parse(seed, CultureInfo.InvariantCulture)),
    ["deliver-signal", var path, var runId, var name, var json] => await DeliverSignalAsync(path, runId, name, json),
    ["workflow", var path, var runId, var ledger, var crashAfter] => await WorkflowCommand.RunAsync(path, runId, ledger, int.Parse(crashAfter, CultureInfo.InvariantCulture)),
    ["agent", var path, var runId, var workflow] => await AgentWorkflows.HostAsync(path, runId, workflow),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: append-loop PATH RUNS SEED | deliver-signal PATH RUN NAME JSON | workflow PATH RUN LEDGER CRASH_AFTER_STEP | agent PATH RUN WORKFLOW");
    return 2;
}

async Task<int> AppendLoopAsync(string path, int runs, int seed)
{
    await using var store = await SqliteJournalStore.OpenAsync(path);
    var gate = new Lock();
    await Task.WhenAll(Enumerable.Range(0, runs).Select(r => Task.Run(async () =>
    {
        var random = new Random(seed * 1000 + r);
        var runId = new RunId($"crash-{seed}-{r}");
        await store.AppendAsync(new RunAppend(runId, 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UtcNow, Workflow = "crash" }]));
        Ack(runId, 0);
        for (long seq = 1; ; seq++)
        {
            // Sizes from a few bytes to tens of kilobytes, so commits span several pages.
            var text = new string((char)('a' + (seq % 26)), random.Next(1, 40_000));
            await store.AppendAsync(new RunAppend(runId, seq, [new StepCompleted { Sequence = seq, Timestamp = DateTimeOffset.UtcNow, Step = (int)seq, Result = Payload.FromValue(text) }]));
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
