using Durably.Cli;

return await DurablyCommandLine.RunAsync(args, Console.Out, Console.Error);
