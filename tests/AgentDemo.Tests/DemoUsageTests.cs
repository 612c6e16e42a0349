namespace AgentDemo.Tests;

// Each option applies to some commands only. Given to another command it is refused with a usage error naming the
// option and the commands that take it, instead of being silently ignored.
public sealed class DemoUsageTests : IDisposable
{
    private const string Story = "story";

    // What the usage text promises: each option with a valid value, and the commands that take it.
    private static readonly Dictionary<string, (string[] Args, string[] Commands)> s_options = new()
    {
        ["--store"] = (["--store", "agent.db"], [Story, "run", "approve"]),
        ["--run-id"] = (["--run-id", "usage-run"], [Story, "run", "approve"]),
        ["--timer"] = (["--timer", "0"], [Story, "run"]),
        ["--topic"] = (["--topic", "durable timers"], [Story, "run"]),
        ["--out"] = (["--out", "out"], [Story, "run"]),
        ["--worker"] = (["--worker", "worker-2"], ["run"]),
        ["--crash-at-step"] = (["--crash-at-step", "7"], ["run"]),
        ["--crash-in-step"] = (["--crash-in-step", "6"], ["run"]),
        ["--approve"] = (["--approve", "wait"], ["run"]),
        ["--llm-url"] = (["--llm-url", "http://127.0.0.1:9/v1", "--model", "m"], ["run"]),
        ["--model"] = (["--model", "m", "--llm-url", "http://127.0.0.1:9/v1"], ["run"]),
        ["--tools-url"] = (["--tools-url", "http://127.0.0.1:9"], ["run"]),
        ["--events"] = (["--events", "json"], ["run"]),
    };

    // "" is no command at all: the story, or run when a crash option is given.
    private static readonly string[] s_commands = ["", Story, "run", "approve", "tools"];

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-demo-usage", Guid.NewGuid().ToString("N"));

    public static TheoryData<string, string> OptionsGivenToACommandThatDoesNotTakeThem()
    {
        var data = new TheoryData<string, string>();
        foreach (var (option, (args, commands)) in s_options)
        {
            foreach (var command in s_commands.Where(c => !commands.Contains(Effective(c, args))))
            {
                data.Add(command, option);
            }
        }

        return data;
    }

    public static TheoryData<string, string> OptionsGivenToACommandThatTakesThem()
    {
        var data = new TheoryData<string, string>();
        foreach (var (option, (args, commands)) in s_options)
        {
            foreach (var command in s_commands.Where(c => commands.Contains(Effective(c, args))))
            {
                data.Add(command, option);
            }
        }

        return data;
    }

    // The command lines the README, the usage text, the story's child processes and the other tests use.
    public static TheoryData<string, string[]> CommandLinesInUse => new()
    {
        { Story, [] },
        { "help", ["run", "--help"] },
        { "help", ["-h"] },
        { "tools", ["tools"] },
        { "approve", ["approve", "--store", "agent-demo.db", "--run-id", "research-run"] },
        { "approve", ["approve", "--store", "postgres://worker@db:5432/app", "--run-id", "research-run"] },
        { "run", ["run", "--store", "s.db", "--run-id", "r", "--tools-url", "http://127.0.0.1:9", "--events", "json", "--approve", "auto", "--timer", "2", "--out", "out", "--topic", "crash-safe AI agents", "--crash-at-step", "7"] },
        { "run", ["run", "--store", "s.db", "--run-id", "crash-in-6", "--tools-url", "http://127.0.0.1:9", "--events", "json", "--timer", "0", "--out", "out", "--crash-in-step", "6"] },
        { "run", ["run", "--store", "postgres://worker@db:5432/app", "--run-id", "pg-1", "--tools-url", "http://127.0.0.1:9", "--events", "json", "--timer", "0", "--out", "out", "--crash-at-step", "7"] },
        { "run", ["run", "--store", "agent.db", "--run-id", "openai-run", "--llm-url", "http://127.0.0.1:9/v1", "--model", "fake-model", "--timer", "0", "--out", "out", "--events", "json", "--crash-at-step", "5"] },
        { "run", ["run", "--approve", "wait", "--worker", "worker-2"] },
        { "run", ["--crash-at-step", "5"] },
        { "run", ["--crash-in-step", "8", "--events", "json"] },
    };

    [Theory]
    [MemberData(nameof(OptionsGivenToACommandThatDoesNotTakeThem))]
    public async Task Demo_OptionGivenToACommandThatDoesNotTakeIt_ExitsWithUsageErrorNamingTheOptionAndTheCommands(string command, string option)
    {
        var (args, commands) = s_options[option];

        var exit = await DemoProcess.RunAsync(_folder, command == "" ? args : [command, .. args]);

        Assert.True(exit.ExitCode == 2, $"exit code {exit.ExitCode}; errors: {exit.Errors}");
        Assert.Equal("", exit.Output);
        var message = exit.Errors.Split('\n')[0];
        Assert.StartsWith($"error: {option} applies only to ", message, StringComparison.Ordinal);
        Assert.Contains($"not to '{Effective(command, args)}'", message, StringComparison.Ordinal);
        Assert.All(commands, c => Assert.Contains($"'{c}'", message, StringComparison.Ordinal));
        Assert.Contains($"-- run {option} ", message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(OptionsGivenToACommandThatTakesThem))]
    public void Parse_OptionGivenToACommandThatTakesIt_IsAccepted(string command, string option)
    {
        var args = s_options[option].Args;

        var options = DemoOptions.Parse(command == "" ? args : [command, .. args]);

        Assert.Equal(Effective(command, args), options.Command);
    }

    [Theory]
    [MemberData(nameof(CommandLinesInUse))]
    public void Parse_CommandLineUsedByTheDocsTheStoryOrTheTests_IsAccepted(string command, string[] args)
        => Assert.Equal(command, DemoOptions.Parse(args).Command);

    [Fact]
    public async Task Story_WithEveryOptionItTakes_ResumesTheKilledRunToTheUninterruptedResult()
    {
        var exit = await DemoProcess.RunAsync(
            _folder, "--store", Path.Combine(_folder, "story.db"), "--run-id", "usage-story", "--timer", "0", "--out", Path.Combine(_folder, "out"), "--topic", "durable timers");

        Assert.True(exit.ExitCode == 0, $"exit code {exit.ExitCode}: {exit.Errors}");
        Assert.Contains("identical to the uninterrupted run", exit.Output, StringComparison.Ordinal);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(_folder, "out", "usage-story", "effects.log")).Distinct().Count());
        Assert.True(File.Exists(Path.Combine(_folder, "story.db")));
    }

    [Fact]
    public async Task Demo_HelpAfterACommand_PrintsTheUsageAndExitsZero()
    {
        var exit = await DemoProcess.RunAsync(_folder, "run", "--help");

        Assert.Equal(0, exit.ExitCode);
        Assert.Contains("Options of run only:", exit.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_TwoCommands_ExitsWithUsageErrorNamingBoth()
    {
        var exit = await DemoProcess.RunAsync(_folder, "approve", "run");

        Assert.Equal(2, exit.ExitCode);
        Assert.Contains("'approve' and 'run'", exit.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ModelWithoutLlmUrl_RefusesInsteadOfUsingTheScriptedModel()
    {
        var error = Assert.Throws<DemoUsageException>(() => DemoOptions.Parse(["run", "--model", "gpt-4o"]));

        Assert.Contains("--llm-url", error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string Effective(string command, string[] args)
        => command != "" ? command : args[0] is "--crash-at-step" or "--crash-in-step" ? "run" : Story;
}
