using Durably;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;

// Writes a small journal to a SQLite file, closes it, reopens it and prints what survived.
var path = args.Length > 0 ? args[0] : Path.Combine(Environment.CurrentDirectory, "journal-sample.db");
var runId = RunId.New();

await using (var store = await SqliteJournalStore.OpenAsync(path))
{
    var now = DateTimeOffset.UtcNow;
    await store.AppendAsync(new RunAppend(runId, 0, [new RunStarted { Sequence = 0, Timestamp = now, Workflow = "sample", Input = Payload.FromJson("{\"topic\":\"write-ahead logging\"}") }]) { Status = RunStatus.Running });
    await store.AppendAsync(new RunAppend(runId, 1, [new StepStarted { Sequence = 1, Timestamp = now, Step = 1, Kind = StepKind.Effect, Name = "send-email", IdempotencyKey = $"{runId}:1" }]));
    await store.AppendAsync(new RunAppend(runId, 2, [new StepCompleted { Sequence = 2, Timestamp = now, Step = 1, Result = Payload.FromJson("\"sent\"") }]));
    await store.AppendAsync(new RunAppend(runId, 3, [new RunCompleted { Sequence = 3, Timestamp = now, Result = Payload.FromJson("\"done\"") }]) { Status = RunStatus.Completed });
}

await using (var reopened = await SqliteJournalStore.OpenAsync(path))
{
    Console.WriteLine($"journal of run {runId} in {path}, read back after reopening:");
    foreach (var entry in await reopened.ReadAsync(runId))
    {
        Console.WriteLine($"  {entry.Sequence,3}  {System.Text.Encoding.UTF8.GetString(JournalSerializer.Serialize(entry))}");
    }

    var run = await reopened.GetRunAsync(runId);
    Console.WriteLine($"status: {run!.Status}");
}
