using Durably.Storage;
using System.CommandLine;
using System.Text;
using Durably.Inspection;
using Durably.Journal;

namespace Durably.Cli.Commands;

// durably journal verify | export | compact
internal static class JournalCommands
{
    public static Command Build()
    {
        var journal = new Command("journal", "Check the store's integrity, export a run's journal, compact the store.");
        journal.Add(BuildVerify());
        journal.Add(BuildExport());
        journal.Add(BuildCompact());
        return journal;
    }

    private static Command BuildVerify()
    {
        var command = new Command("verify", """
            Check the whole store: the file itself (SQLite integrity check), then every journal: entries readable,
            sequences contiguous, every outcome preceded by its intent, the index in agreement.
            Exits 0 when sound, 6 when damaged, 7 when another process holds the store locked.
            """);
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var report = await JournalVerifier.VerifyAsync(store, cancellationToken);
            if (context.Json)
            {
                context.WriteJson(new { sound = report.IsSound, report.Runs, report.Entries, report.StoreProblems, report.Problems });
            }
            else
            {
                context.Out.WriteLine($"Checked {Format.Number(report.Runs)} run(s) and {Format.Number(report.Entries)} journal entries.");
                foreach (var problem in report.StoreProblems)
                {
                    context.Out.WriteLine("  store: " + problem);
                }

                foreach (var problem in report.Problems)
                {
                    context.Out.WriteLine($"  run {problem.RunId}{(problem.Sequence is { } seq ? $", entry {seq}" : string.Empty)}: {problem.Message}");
                }

                context.Out.WriteLine(report.IsSound
                    ? "No problems found."
                    : $"The store is damaged: {report.StoreProblems.Count + report.Problems.Count} problem(s). Keep a copy of the file, and restore it from a backup or export the readable runs.");
            }

            return report.IsSound ? ExitCodes.Ok : ExitCodes.Damaged;
        });
        return command;
    }

    private static Command BuildExport()
    {
        var run = new Argument<string>("RUN") { Description = "The run id." };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write to this file instead of stdout.", HelpName = "FILE" };
        var command = new Command("export", "Export a run's journal as JSON lines: one entry per line in Durably's versioned wire format (readable back with JournalExport.ReadAsync).") { run, output };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var runId = Inputs.RunId(context.Get(run));
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var client = new DurableClient(store);
            using var buffer = new MemoryStream();
            await client.ExportJournalAsync(runId, buffer, cancellationToken);
            if (context.Get(output) is { } file)
            {
                await using var stream = new FileStream(file.FullName, FileMode.Create, FileAccess.Write);
                buffer.Position = 0;
                await buffer.CopyToAsync(stream, cancellationToken);
                context.Note($"Wrote {Lines(buffer)} entries of run {runId} to {file.FullName}.");
            }
            else
            {
                await context.Out.WriteAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
                await context.Out.FlushAsync(cancellationToken);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command BuildCompact()
    {
        var quick = new Option<bool>("--quick") { Description = "Skip the full rewrite (SQLite VACUUM, PostgreSQL VACUUM FULL), which holds the write lock while it runs; only checkpoint or vacuum in place and collect blobs." };
        var grace = new Option<string?>("--blob-grace") { Description = "Delete only unreferenced payload blobs unused for longer than this (default: the store's grace period, 15m): a number and a unit (s, m, h, d, w).", HelpName = "AGE" };
        var command = new Command("compact", "Give the space of purged runs back: delete payload blobs no run refers to, then compact the store (SQLite: VACUUM and WAL truncate; PostgreSQL: VACUUM). Prints the size before and after.") { quick, grace };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var blobs = new BlobCollectionRequest { GracePeriod = context.Get(grace) is { } age ? Inputs.Duration(age) : null };
            await using var store = await context.OpenStoreAsync(cancellationToken);
            if (store is not IJournalStoreCompaction compaction)
            {
                throw new CliException(ExitCodes.BadInput, $"The store ({store.GetType().Name}) cannot be compacted by Durably; use its own tools.");
            }

            var result = await compaction.CompactAsync(new CompactionRequest { Full = !context.Get(quick), Blobs = blobs }, cancellationToken);
            if (context.Json)
            {
                context.WriteJson(new { bytesBefore = result.BytesBefore, bytesAfter = result.BytesAfter, blobsExamined = result.Blobs.Examined, blobsDeleted = result.Blobs.Deleted, blobBytesFreed = result.Blobs.BytesFreed, notes = result.Notes });
                return ExitCodes.Ok;
            }

            context.Out.WriteLine($"Size before: {Format.Number(result.BytesBefore)} bytes");
            context.Out.WriteLine($"Size after:  {Format.Number(result.BytesAfter)} bytes ({Format.Number(result.BytesBefore - result.BytesAfter)} bytes freed)");
            context.Out.WriteLine($"Payload blobs: {Format.Number(result.Blobs.Deleted)} of {Format.Number(result.Blobs.Examined)} deleted ({Format.Number(result.Blobs.BytesFreed)} bytes), no run refers to them.");
            foreach (var note in result.Notes)
            {
                context.Out.WriteLine("  " + note);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static int Lines(MemoryStream buffer) => buffer.GetBuffer().AsSpan(0, (int)buffer.Length).Count((byte)'\n');
}
