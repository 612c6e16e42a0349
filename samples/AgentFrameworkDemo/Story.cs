using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace AgentFrameworkDemo;

// The story: the agent runs in a child process that is killed with SIGKILL mid-run, then runs again on the same journal;
// the summary says what the second process replayed, executed and saved, and what the MCP server did.
internal static class Story
{
    public static async Task<int> RunAsync(DemoOptions options)
    {
        var crashAt = options.CrashAtStep > 0 ? options.CrashAtStep : 6;
        var store = Path.GetFullPath(options.Store);
        var log = Path.ChangeExtension(store, null) + "-mcp.log";
        foreach (var file in new[] { store, store + "-wal", store + "-shm", log })
        {
            File.Delete(file);
        }

        Console.WriteLine("Durably + Microsoft Agent Framework: a support agent (ChatClientAgent) with MCP tools and a writer sub-agent.");
        Console.WriteLine($"Journal: {store}\nMCP server log: {log}\n");

        Console.WriteLine($"Process 1 runs the agent and is killed with SIGKILL right after step {crashAt} is journaled:");
        var first = await RunChildAsync(1, store, log, options, crashAt);
        Console.WriteLine(first.ExitCode == 0 ? "  [1] (the process was to be killed but finished)\n" : $"  [1] killed (exit code {first.ExitCode})\n");

        Console.WriteLine("Process 2 starts the same run on the same journal:");
        var second = await RunChildAsync(2, store, log, options, crashAt: 0);
        if (second.ExitCode != 0 || second.Result is null)
        {
            Console.Error.WriteLine($"The demo failed: process 2 exited {second.ExitCode}.\n{second.Errors}");
            return 1;
        }

        var result = second.Result;
        var calls = SupportDesk.Read(log);
        var executed = calls.Where(c => c.Outcome == "executed").ToList();
        Console.WriteLine();
        Console.WriteLine($"Process 2 replayed {second.Replayed} steps from the journal and executed {second.Executed}.");
        Console.WriteLine($"Model calls: {result["model_calls_replayed"]} replayed instead of paid for again, {result["model_calls_executed"]} made; "
            + $"tokens saved by replay: {(long)result["tokens_saved"]!:N0} (${(decimal)result["cost_saved"]!:0.0000} at $2.50/$10 per million).");
        Console.WriteLine($"MCP server: {executed.Count} tool calls executed ({string.Join(", ", executed.Select(c => c.Tool))}), "
            + $"{calls.Count(c => c.Outcome == "duplicate")} duplicates; "
            + (executed.GroupBy(c => c.Key).All(g => g.Count() == 1) ? "each idempotency key executed once." : "SOME KEY EXECUTED TWICE."));
        Console.WriteLine($"\nAnswer: {result["answer"]}");
        Console.WriteLine($"\nInspect the journal: dotnet run --project src/Durably.Cli -- runs show {options.RunId} --store {store}");
        return 0;
    }

    private static async Task<ChildRun> RunChildAsync(int number, string store, string log, DemoOptions options, int crashAt)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[typeof(Story).Assembly.Location, "run", "--store", store, "--run-id", options.RunId, "--log", log])
        {
            info.ArgumentList.Add(arg);
        }

        if (crashAt > 0)
        {
            info.ArgumentList.Add("--crash-at-step");
            info.ArgumentList.Add(crashAt.ToString(CultureInfo.InvariantCulture));
        }

        if (options.LlmUrl is not null)
        {
            info.ArgumentList.Add("--llm-url");
            info.ArgumentList.Add(options.LlmUrl);
            info.ArgumentList.Add("--model");
            info.ArgumentList.Add(options.Model!);
        }

        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        int executed = 0, replayed = 0;
        JsonObject? result = null;
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("result ", StringComparison.Ordinal))
            {
                result = (JsonObject)JsonNode.Parse(line["result ".Length..])!;
                continue;
            }

            if (line.StartsWith("answer: ", StringComparison.Ordinal))
            {
                continue; // said once, in the summary
            }

            executed += line.Contains(" executed", StringComparison.Ordinal) ? 1 : 0;
            replayed += line.Contains(" replayed from the journal", StringComparison.Ordinal) ? 1 : 0;
            Console.WriteLine(line.Length == 0 ? "" : $"  [{number}] {line}");
        }

        await process.WaitForExitAsync();
        return new ChildRun(process.ExitCode, executed, replayed, result, await errors);
    }

    private sealed record ChildRun(int ExitCode, int Executed, int Replayed, JsonObject? Result, string Errors);
}
