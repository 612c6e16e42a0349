using System.CommandLine;
using System.Text;
using Durably.Inspection;
using Durably.Journal;

namespace Durably.Cli.Commands;

// durably journal verify | export
internal static class JournalCommands
{
    public static Command Build()
    {
        var journal = new Command("journal", "Check the store's integrity, export a run's journal.");
        journal.Add(BuildVerify());
        journal.Add(BuildExport());
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

    private static int Lines(MemoryStream buffer) => buffer.GetBuffer().AsSpan(0, (int)buffer.Length).Count((byte)'\n');
}
