using AgentFrameworkDemo;

// A support agent built with the Microsoft Agent Framework: a ChatClientAgent whose tools come from an MCP server
// (this program, started again as `mcp-server` over stdio) and a writer sub-agent it calls as a tool. Durably makes it
// crash-safe. Without a command the demo tells the story: the agent is killed with SIGKILL mid-run and resumed.
try
{
    var options = DemoOptions.Parse(args);
    return options.Command switch
    {
        "run" => await SupportAgent.RunAsync(options),
        "mcp-server" => await SupportDesk.ServeAsync(options.Log),
        "help" => Help(),
        _ => await Story.RunAsync(options),
    };
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}\n\n{DemoOptions.Usage}");
    return 2;
}

static int Help()
{
    Console.WriteLine(DemoOptions.Usage);
    return 0;
}
