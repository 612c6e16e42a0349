using System.CommandLine;
using Durably.Inspection;
using Durably.Storage;

namespace Durably.Cli.Commands;

// durably runs list | show | purge
internal static class RunsCommands
{
    public static Command Build()
    {
        var runs = new Command("runs", "List runs, show a run's timeline, purge finished runs.");
        runs.Add(BuildList());
        runs.Add(BuildShow());
        runs.Add(BuildPurge());
        return runs;
    }

    private static Command BuildList()
    {
        var status = new Option<string[]>("--status") { Description = "Only runs with this status (repeatable): pending, running, suspended, completed, failed, cancelled, compensated.", HelpName = "STATUS", AllowMultipleArgumentsPerToken = false };
        var workflow = new Option<string?>("--workflow", "-w") { Description = "Only runs of this workflow.", HelpName = "NAME" };
        var limit = new Option<int>("--limit", "-n") { Description = "The most runs listed, newest first.", DefaultValueFactory = _ => 100 };
        var command = new Command("list", "List runs, newest first, with their status, what suspended runs wait for, and the parent of each child run.") { status, workflow, limit };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var statuses = context.Get(status) is { Length: > 0 } given ? given.Select(Inputs.Status).ToHashSet() : null;
            var max = context.Get(limit);
            if (max < 1)
            {
                throw new CliException(ExitCodes.BadInput, $"--limit is {max}; give 1 or more.");
            }

            await using var store = await context.OpenStoreAsync(cancellationToken);
            var client = new DurableClient(store);
            var found = new List<RunRecord>();
            string? token = null;
            do
            {
                var page = await client.ListRunsAsync(new RunQuery { Statuses = statuses, Workflow = context.Get(workflow), ContinuationToken = token, PageSize = Math.Min(max - found.Count, StoreLimits.MaxPageSize) }, cancellationToken);
                found.AddRange(page.Runs);
                token = page.ContinuationToken;
            }
            while (token is not null && found.Count < max);

            var parents = await RunLinks.ParentsAsync(client, found, cancellationToken);
            if (context.Json)
            {
                context.WriteJson(new { runs = RunLinks.ToJson(found, parents, CliJson.Options) });
                return ExitCodes.Ok;
            }

            if (found.Count == 0)
            {
                context.Out.WriteLine("No runs match.");
                return ExitCodes.Ok;
            }

            // The PARENT column appears when a listed run is a child run (RunContext.RunChildAsync), the QUEUE column when a
            // listed run was started on a queue ('queue/key'); such a run waiting for a slot shows as queued.
            var queued = found.Any(r => r.Queue is not null);
            var now = DateTimeOffset.UtcNow;
            var headers = new List<string> { "RUN", "WORKFLOW", "STATUS", "UPDATED" };
            headers.AddRange(parents.Count > 0 ? ["PARENT"] : []);
            headers.AddRange(queued ? ["QUEUE"] : []);
            headers.Add("DETAIL");
            Format.Table(
                context.Out,
                headers,
                found.Select(r =>
                {
                    var row = new List<string> { r.RunId.Value, r.Workflow, IsWaitingForSlot(r, now) ? "queued" : Format.Status(r.Status), Format.Time(r.UpdatedAt) };
                    row.AddRange(parents.Count > 0 ? [parents.TryGetValue(r.RunId, out var p) ? p.Value : "-"] : []);
                    row.AddRange(queued ? [r.Queue is null ? "-" : r.QueueKey is null ? r.Queue : $"{r.Queue}/{r.QueueKey}"] : []);
                    row.Add(Format.Clip(r.StatusDetail, 90));
                    return (IReadOnlyList<string>)row;
                }));
            return ExitCodes.Ok;
        });
        return command;
    }

    // A run on a queue that is runnable and holds no live lease: it waits for its queue to give it a slot.
    private static bool IsWaitingForSlot(RunRecord run, DateTimeOffset now)
        => run.Queue is not null && !(run.LeaseExpiresAt > now) && (run.Status is RunStatus.Pending or RunStatus.Running || (run.Status == RunStatus.Suspended && run.WakeAt <= now));

    private static Command BuildShow()
    {
        var run = new Argument<string>("RUN") { Description = "The run id." };
        var command = new Command("show", "Show a run's timeline: each step with kind, name, state, attempts, duration, tokens and replay count; in-doubt steps; waits; signals and who sent them; the result or error; tokens spent and saved by replay.") { run };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var runId = Inputs.RunId(context.Get(run));
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var client = new DurableClient(store);
            var timeline = await client.GetTimelineAsync(runId, cancellationToken);
            if (context.Json)
            {
                // The exact data: results as journaled, model steps as their records.
                context.WriteJson(timeline);
            }
            else
            {
                TimelineText.Write(context.Out, timeline, await StepViews.ReadAsync(store, runId, cancellationToken));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command BuildPurge()
    {
        var status = new Option<string[]>("--status") { Description = "Delete finished runs with this status (repeatable): completed, failed, cancelled, compensated. Unfinished runs are never deleted.", HelpName = "STATUS", Required = true };
        var olderThan = new Option<string>("--older-than") { Description = "Only runs that finished longer ago than this: a number and a unit (s, m, h, d, w), for example 30d.", HelpName = "AGE", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Only report what would be deleted." };
        var archive = new Option<DirectoryInfo?>("--archive") { Description = "Before deleting, write the runs to a JSON lines file in this folder (the 'journal export' format, one file per purge), synced to disk.", HelpName = "DIR" };
        var command = new Command("purge", "Delete finished runs (journal, signals, index) older than an age, so the store does not grow forever. Never deletes a pending, running or suspended run.") { status, olderThan, dryRun, archive };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var statuses = context.Get(status)!.Select(Inputs.Status).ToHashSet();
            if (statuses.Where(s => !s.IsFinished()).Select(Format.Status).ToList() is { Count: > 0 } unfinished)
            {
                throw new CliException(ExitCodes.BadInput, $"Purge deletes finished runs only, and {string.Join(", ", unfinished)} runs are not finished. Give --status completed, failed, cancelled or compensated.");
            }

            var age = Inputs.Duration(context.Get(olderThan)!);
            var before = DateTimeOffset.UtcNow - age;
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var client = new DurableClient(store);
            var request = new PurgeRequest { Statuses = statuses, FinishedBefore = before, DryRun = context.Get(dryRun) };
            var archiveFolder = context.Get(archive)?.FullName;
            string? archiveFile = null;
            async Task<PurgeResult> PurgeAsync()
            {
                if (archiveFolder is null)
                {
                    return await client.PurgeAsync(request, cancellationToken);
                }

                var (purged, file) = await JournalRetention.ArchiveAndPurgeAsync(store, request, archiveFolder, archiveFile, cancellationToken);
                archiveFile ??= file;
                return purged;
            }

            var result = await PurgeAsync();
            while (!request.DryRun && result.Runs.Count > 0 && result.Runs.Count % request.MaxRuns == 0)
            {
                // The store deletes at most MaxRuns per call: go on until a call deletes fewer.
                var next = await PurgeAsync();
                result = new PurgeResult([.. result.Runs, .. next.Runs], result.Entries + next.Entries, DryRun: false);
                if (next.Runs.Count < request.MaxRuns)
                {
                    break;
                }
            }
            if (context.Json)
            {
                context.WriteJson(new { result.DryRun, finishedBefore = before, runs = result.Runs, entries = result.Entries, archive = archiveFile });
                return ExitCodes.Ok;
            }

            var verb = result.DryRun ? "Would delete" : "Deleted";
            context.Out.WriteLine($"{verb} {result.Runs.Count} run(s) with {Format.Number(result.Entries)} journal entries, {string.Join("/", statuses.Select(Format.Status))}, last changed before {Format.Time(before)}.");
            if (archiveFile is not null)
            {
                context.Out.WriteLine($"Archived them first to {archiveFile}.");
            }
            foreach (var id in result.Runs.Take(20))
            {
                context.Out.WriteLine("  " + id.Value);
            }

            if (result.Runs.Count > 20)
            {
                context.Out.WriteLine($"  ... and {result.Runs.Count - 20} more (use --json for the full list)");
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
