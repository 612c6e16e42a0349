using AgentDemo;

try
{
    var options = DemoOptions.Parse(args);
    return options.Command switch
    {
        "run" => await AgentHost.RunAsync(options),
        "approve" => await AgentHost.ApproveAsync(options),
        "tools" => await ServeToolsAsync(),
        "help" => Help(),
        _ => await Story.RunAsync(options),
    };
}
catch (DemoUsageException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}\n\n{DemoOptions.Usage}");
    return 2;
}
catch (Durably.DurablyException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

// Runs the built-in tool endpoints alone until stdin closes, so several agent processes can share one outside world.
static async Task<int> ServeToolsAsync()
{
    await using var server = ToolServer.Start();
    Console.WriteLine(server.BaseUrl);
    Console.Out.Flush();
    await Console.In.ReadToEndAsync();
    return 0;
}

static int Help()
{
    Console.WriteLine(DemoOptions.Usage);
    return 0;
}
