using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Text.Json;
using Durably.Cli.Commands;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Cli;

// Builds the `durably` command tree, runs it, and turns every failure into a message and an exit code.
internal static class DurablyCommandLine
{
    public static Command Build()
    {
        // A plain command named "durably" rather than RootCommand, whose name would be the assembly's file name in usage lines.
        var root = new Command("durably", """
            durably: inspect and operate Durably journals. Show what runs did, deliver signals and approvals,
            resolve in-doubt steps, fork and purge runs, and serve a web dashboard.
            Every command takes --store (a SQLite journal file, a PostgreSQL connection string or postgres:// URL,
            or the DURABLY_STORE environment variable) and --json for machine-readable output. The store must exist:
            durably never creates one (a PostgreSQL schema is checked, never created or changed).
            """)
        {
            new HelpOption(),
            new VersionOption(),
            GlobalOptions.Store,
            GlobalOptions.Schema,
            GlobalOptions.Json,
            GlobalOptions.BusyTimeout,
            RunsCommands.Build(),
            QueuesCommands.Build(),
            JournalCommands.Build(),
            SignalCommands.BuildSignal(),
            SignalCommands.BuildApprove(approve: true),
            SignalCommands.BuildApprove(approve: false),
            SignalCommands.BuildResolve(),
            SignalCommands.BuildCancel(),
            ForkCommand.Build(),
            ServeCommand.Build(),
            TokensCommands.Build(),
            SchedulesCommands.Build(),
        };

        AddExitCodesToHelp(root);
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        output = new TerminalSafeWriter(output);
        error = new TerminalSafeWriter(error);
        var root = Build();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpWithExitCodes)
        {
            foreach (var problem in parse.Errors)
            {
                await error.WriteLineAsync($"durably: {problem.Message}");
            }

            var command = string.Join(" ", ["durably", .. CommandPath(parse)]);
            await error.WriteLineAsync($"Run '{command} --help' for usage.");
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false }, cancellationToken);
    }

    // Gives a command its action, run with every failure mapped to an exit code and a message (never a stack trace).
    public static void SetHandler(Command command, Func<CliContext, CancellationToken, Task<int>> handler)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CliContext(parse);
            try
            {
                return await handler(context, cancellationToken);
            }
            catch (Exception ex)
            {
                var (code, message) = Describe(ex, cancellationToken);
                if (context.Json)
                {
                    await context.Error.WriteLineAsync(JsonSerializer.Serialize(new { error = new { code, message } }, CliJson.Compact));
                }
                else
                {
                    await context.Error.WriteLineAsync($"durably: {message}");
                }

                return code;
            }
        });
    }

    private static (int Code, string Message) Describe(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        CliException cli => (cli.ExitCode, cli.Message),
        OperationCanceledException when cancellationToken.IsCancellationRequested => (ExitCodes.Interrupted, "Interrupted."),
        RunNotFoundException => (ExitCodes.NotFound, ex.Message),
        Scheduling.ScheduleNotFoundException => (ExitCodes.NotFound, ex.Message),
        NotSupportedException => (ExitCodes.Failed, ex.Message),
        JournalStoreNotFoundException store => (ExitCodes.StoreMissing, $"The store '{store.StoreLocation}' does not exist. durably never creates a store: check --store (or DURABLY_STORE), or start your host once to create it."),
        JournalStoreLockedException => (ExitCodes.Locked, ex.Message + " (durably waited --busy-timeout seconds.)"),
        JournalCorruptedException => (ExitCodes.Damaged, ex.Message),
        JournalFormatException => (ExitCodes.Damaged, ex.Message),
        RunFinishedException => (ExitCodes.Conflict, ex.Message),
        JournalConcurrencyException => (ExitCodes.Conflict, ex.Message),
        PayloadTooLargeException => (ExitCodes.BadInput, ex.Message),
        ArgumentException => (ExitCodes.BadInput, ex.Message),
        DurablyException => (ExitCodes.Failed, ex.Message),
        IOException or UnauthorizedAccessException => (ExitCodes.Failed, ex.Message),
        _ => (ExitCodes.Failed, $"An unexpected error stopped the command ({ex.GetType().Name}: {ex.Message}). Please report it with the command you ran."),
    };

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new Stack<string>();
        for (var result = parse.CommandResult; result.Parent is System.CommandLine.Parsing.CommandResult parent; result = parent)
        {
            names.Push(result.Command.Name);
        }

        return names;
    }

    private static void AddExitCodesToHelp(Command root)
    {
        foreach (var option in root.Options)
        {
            if (option is HelpOption { Action: HelpAction help } helpOption)
            {
                helpOption.Action = new HelpWithExitCodes(help);
            }
        }
    }

    // Help as usual, followed by the exit code table, so every command's --help documents its exit codes.
    private sealed class HelpWithExitCodes(HelpAction help) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            var result = help.Invoke(parseResult);
            parseResult.InvocationConfiguration.Output.WriteLine();
            parseResult.InvocationConfiguration.Output.WriteLine(ExitCodes.Table);
            return result;
        }
    }
}
