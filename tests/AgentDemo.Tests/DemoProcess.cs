using System.Diagnostics;

namespace AgentDemo.Tests;

// Runs the demo as its own process to the end: standard input closed at once, output and errors read separately.
internal static class DemoProcess
{
    public static async Task<DemoExit> RunAsync(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AgentDemo.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        Directory.CreateDirectory(workingDirectory);
        using var process = Process.Start(info)!;
        process.StandardInput.Close(); // `tools` serves until its input closes; nothing else reads it
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new DemoExit(process.ExitCode, await output, await errors);
    }
}

internal sealed record DemoExit(int ExitCode, string Output, string Errors);
