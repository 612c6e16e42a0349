using System.Globalization;

namespace AgentFrameworkDemo;

// The command line: [story] | run | mcp-server, with a few options.
internal sealed class DemoOptions
{
    public const string Usage = """
        usage: AgentFrameworkDemo [story] [--store PATH] [--crash-at-step N]
               AgentFrameworkDemo run --store PATH --run-id ID --log PATH [--crash-at-step N] [--llm-url URL --model NAME]
               AgentFrameworkDemo mcp-server --log PATH

          story            run the agent in a child process, kill it with SIGKILL at step 6 (or N), resume it, compare
          run              run the agent once in this process (what the story's children do)
          mcp-server       serve the support desk's tools over MCP on stdin/stdout (what the agent starts)
          --llm-url URL    an OpenAI-compatible endpoint (with --model NAME) instead of the built-in scripted model
        """;

    public string Command { get; private set; } = "story";

    public string Store { get; private set; } = "agent-framework-demo.db";

    public string RunId { get; private set; } = "support-1";

    public string Log { get; private set; } = "support-desk.log";

    public int CrashAtStep { get; private set; }

    public string? LlmUrl { get; private set; }

    public string? Model { get; private set; }

    public static DemoOptions Parse(string[] args)
    {
        var options = new DemoOptions();
        var i = 0;
        if (args.Length > 0 && !args[0].StartsWith('-'))
        {
            options.Command = args[0] is "story" or "run" or "mcp-server" or "help" ? args[0] : throw new ArgumentException($"Unknown command '{args[0]}'.");
            i = 1;
        }

        for (; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--store": options.Store = Value(); break;
                case "--run-id": options.RunId = Value(); break;
                case "--log": options.Log = Value(); break;
                case "--crash-at-step": options.CrashAtStep = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--llm-url": options.LlmUrl = Value(); break;
                case "--model": options.Model = Value(); break;
                case "--help" or "-h": options.Command = "help"; break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }

        if ((options.LlmUrl is null) != (options.Model is null))
        {
            throw new ArgumentException("--llm-url and --model go together.");
        }

        return options;
    }
}
