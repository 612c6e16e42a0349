using AgentDemo;

try
{
    var options = DemoOptions.Parse(args);
    return options.Command switch
    {
        "run" => await AgentHost.RunAsync(options),
        "approve" => await AgentHost.ApproveAsync(options),
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

static int Help()
{
    Console.WriteLine(DemoOptions.Usage);
    return 0;
}
