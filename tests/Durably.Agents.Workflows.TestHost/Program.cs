using Durably.Agents.Workflows;
using Durably.Agents.Workflows.TestHost;
using Durably.Postgres;
using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Agents.AI.Workflows;

// Runs (or resumes from its latest checkpoint) a four-executor workflow whose checkpoints live in a Durably store:
//
//   sqlite PATH SESSION LOG HANG_AT          the store is a SQLite file
//   postgres CONNECTION SCHEMA SESSION LOG HANG_AT
//
// Each executor appends '{name} {input}' to LOG (its side effect) before it returns. HANG_AT names an executor that, after
// its side effect, prints 'hanging in {name}' and never returns (the test kills the process there), or is '-'. Stdout gets
// 'resumed from {checkpoint}' or 'started', 'checkpoint {superstep} {id}' after each durable checkpoint, and 'output {text}'.
// Every line is flushed at once, so a parent that kills this process knows what happened before the kill.
return args switch
{
    ["sqlite", var path, var session, var log, var hangAt] => await RunAsync(await SqliteJournalStore.OpenAsync(path), session, log, hangAt),
    ["postgres", var connection, var schema, var session, var log, var hangAt] => await RunAsync(
        await PostgresJournalStore.OpenAsync(new PostgresJournalStoreOptions { ConnectionString = connection, Schema = schema, SchemaMode = PostgresSchemaMode.CreateOrUpdate }),
        session, log, hangAt),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: sqlite PATH SESSION LOG HANG_AT | postgres CONNECTION SCHEMA SESSION LOG HANG_AT");
    return 2;
}

static async Task<int> RunAsync(IJournalStore store, string session, string log, string hangAt)
{
    await using var _ = store;
    var manager = CheckpointManager.CreateJson(new DurablyCheckpointStore(store));
    var workflow = LoggingWorkflow.Build(log, hangAt == "-" ? null : hangAt);
    var latest = await manager.GetLatestCheckpointAsync(session);
    await using StreamingRun run = latest is null
        ? await InProcessExecution.RunStreamingAsync(workflow, "brief", manager, session)
        : await InProcessExecution.ResumeStreamingAsync(workflow, latest, manager);
    Console.WriteLine(latest is null ? "started" : $"resumed from {latest.CheckpointId}");
    await foreach (var evt in run.WatchStreamAsync())
    {
        switch (evt)
        {
            case SuperStepCompletedEvent { CompletionInfo.Checkpoint: { } checkpoint } step:
                Console.WriteLine($"checkpoint {step.StepNumber} {checkpoint.CheckpointId}");
                break;
            case WorkflowOutputEvent output:
                Console.WriteLine($"output {output.Data}");
                break;
            case WorkflowErrorEvent error:
                Console.Error.WriteLine($"workflow error: {error.Data}");
                return 1;
        }
    }

    return 0;
}
