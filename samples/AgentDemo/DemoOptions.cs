using System.Globalization;

namespace AgentDemo;

// Command-line options of the demo. Every option has a default, so the demo runs with none.
internal sealed class DemoOptions
{
    public string Store { get; set; } = Path.Combine(Environment.CurrentDirectory, "agent-demo.db");

    public string RunId { get; set; } = "research-run";

    // A fixed worker name: a restarted demo takes back its run at once instead of waiting for the lease to expire.
    public string Worker { get; set; } = "agent-demo";

    public bool IsPostgres => Durably.Postgres.PostgresConnectionString.IsPostgres(Store);

    public int CrashAtStep { get; set; }

    public int CrashInStep { get; set; }

    public string Approve { get; set; } = "auto";

    public double TimerSeconds { get; set; } = 2;

    public string? LlmUrl { get; set; }

    public string? Model { get; set; }

    public string ToolsUrl { get; set; } = "";

    public bool JsonEvents { get; set; }

    public string Topic { get; set; } = "crash-safe AI agents";

    public string OutputFolder { get; set; } = Path.Combine(Environment.CurrentDirectory, "agent-demo-output");

    public string Command { get; set; } = "story";

    // The options and the commands that take each, with how its value is written in a hint. An option given to a
    // command that does not take it is refused rather than ignored: the reader would believe it had been used.
    private static readonly Dictionary<string, (string Value, string[] Commands)> s_takenBy = new()
    {
        ["--store"] = ("PATH", ["story", "run", "approve"]),
        ["--run-id"] = ("ID", ["story", "run", "approve"]),
        ["--worker"] = ("NAME", ["run"]),
        ["--crash-at-step"] = ("N", ["run"]),
        ["--crash-in-step"] = ("N", ["run"]),
        ["--approve"] = ("wait", ["run"]),
        ["--timer"] = ("SECONDS", ["story", "run"]),
        ["--llm-url"] = ("URL --model NAME", ["run"]),
        ["--model"] = ("NAME --llm-url URL", ["run"]),
        ["--tools-url"] = ("URL", ["run"]),
        ["--events"] = ("json", ["run"]),
        ["--topic"] = ("TEXT", ["story", "run"]),
        ["--out"] = ("DIR", ["story", "run"]),
    };

    public static DemoOptions Parse(string[] args)
    {
        var options = new DemoOptions();
        string? command = null;
        var given = new List<string>();
        var help = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new DemoUsageException($"{args[i]} needs a value.");
            int Number(string name)
            {
                var text = Value();
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 12
                    ? n
                    : throw new DemoUsageException($"{name} takes a step number from 1 to 12, not '{text}'.");
            }

            if (s_takenBy.ContainsKey(args[i]))
            {
                given.Add(args[i]);
            }

            switch (args[i])
            {
                case "run" or "story" or "approve" or "tools":
                    command = command is null || command == args[i]
                        ? args[i]
                        : throw new DemoUsageException($"Give one command, not both '{command}' and '{args[i]}'.");
                    break;
                case "--store": options.Store = Value(); break;
                case "--run-id": options.RunId = Value(); break;
                case "--worker": options.Worker = Value(); break;
                case "--crash-at-step": options.CrashAtStep = Number("--crash-at-step"); break;
                case "--crash-in-step": options.CrashInStep = Number("--crash-in-step"); break;
                case "--approve":
                    options.Approve = Value() is "auto" or "wait" ? args[i] : throw new DemoUsageException("--approve takes auto or wait.");
                    break;
                case "--timer":
                    var timer = Value();
                    options.TimerSeconds = double.TryParse(timer, NumberStyles.Float, CultureInfo.InvariantCulture, out var t) && t >= 0 ? t : throw new DemoUsageException($"--timer takes seconds, not '{timer}'.");
                    break;
                case "--llm-url": options.LlmUrl = Value(); break;
                case "--model": options.Model = Value(); break;
                case "--tools-url": options.ToolsUrl = Value(); break;
                case "--events":
                    options.JsonEvents = Value() == "json" ? true : throw new DemoUsageException("--events takes json.");
                    break;
                case "--topic": options.Topic = Value(); break;
                case "--out": options.OutputFolder = Value(); break;
                case "--help" or "-h":
                    help = true;
                    break;
                default:
                    throw new DemoUsageException($"Unknown option '{args[i]}'.");
            }
        }

        if (help)
        {
            options.Command = "help";
            return options;
        }

        // Without a command, a crash option means run: the story crashes its agent at step 7 by itself.
        options.Command = command ?? (given.Any(o => o is "--crash-at-step" or "--crash-in-step") ? "run" : "story");
        foreach (var option in given)
        {
            var (value, commands) = s_takenBy[option];
            if (!commands.Contains(options.Command))
            {
                var takers = string.Join(", ", commands[..^1].Select(c => $"'{c}'")) + (commands.Length > 1 ? " and " : "") + $"'{commands[^1]}'";
                var chosen = command is null ? $"'{options.Command}' (the default command)" : $"'{options.Command}'";
                var example = commands.Contains("run") ? "run" : commands[0];
                throw new DemoUsageException($"{option} applies only to {takers}, not to {chosen}; use: dotnet run --project samples/AgentDemo -- {example} {option} {value}");
            }
        }

        if (options.LlmUrl is not null && options.Model is null)
        {
            throw new DemoUsageException("--llm-url needs --model NAME as well.");
        }

        if (options.Model is not null && options.LlmUrl is null)
        {
            throw new DemoUsageException("--model names a model of the endpoint given with --llm-url URL; without --llm-url the agent uses the built-in scripted model.");
        }

        if (options.Command == "story" && options.IsPostgres)
        {
            throw new DemoUsageException("The story runs on its own SQLite journal files. To run the agent on PostgreSQL, use: run --store postgres://...");
        }

        if (Durably.RunId.Validate(options.RunId) is { } error)
        {
            throw new DemoUsageException(error);
        }

        return options;
    }

    public const string Usage = """
        The crash-and-resume agent demo.

          dotnet run --project samples/AgentDemo [-- story] [options]
              The whole story (the default command): runs the agent in a child process that crashes at step 7, runs it again on the same
              journal, and shows what was replayed, what was executed, and what a naive restart would have repeated.

          dotnet run --project samples/AgentDemo -- run [options]
              Runs the agent once in this process, on SQLite or (with --store postgres://...) on PostgreSQL.

          dotnet run --project samples/AgentDemo -- approve --store PATH --run-id ID
              Approves a run that waits (started with --approve wait) from another process.

          dotnet run --project samples/AgentDemo -- tools
              Serves the built-in tool endpoints alone (prints the base URL; GET /ledger lists every request) until
              standard input closes; pass the URL to agents with --tools-url.

        Each option applies only to the commands named in its heading; any other command refuses it (exit code 2).

        Options of the story, run and approve:
          --store PATH          SQLite journal (default ./agent-demo.db), or a PostgreSQL store for run and approve:
                                postgres://user:password@host:port/database or Host=...;Database=...;Username=...
                                (run creates the schema 'durably' if missing; tool calls carry X-Fencing-Token)
          --run-id ID           run id (default research-run); the same id resumes the same run

        Options of the story and run:
          --timer SECONDS       the durable cool-off timer (default 2)
          --topic TEXT          what to research
          --out DIR             where the files go (default ./agent-demo-output)

        Options of run only:
          --worker NAME         the worker's lease name (default agent-demo); a restart under the same name takes
                                its run back at once, so give concurrent agent processes on one database their own
          --crash-at-step N     kill the process (SIGKILL) right after step N's outcome is durable
          --crash-in-step N     kill it inside step N, after its side effect was sent, before its outcome is journaled
                                (with no command given, either crash option means run)
          --approve auto|wait   approve at once (default) or wait for an approval from another process
          --llm-url URL --model NAME   use an OpenAI-compatible endpoint instead of the built-in scripted model
          --tools-url URL       send tool and side-effect calls there instead of the built-in local endpoints
          --events json         one JSON object per line instead of a readable transcript

        tools takes no options. --help (or -h) prints this text, with any command.
        """;
}

internal sealed class DemoUsageException(string message) : Exception(message);
