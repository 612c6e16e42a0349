using System.Diagnostics;

namespace Durably.Sqlite.Tests;

// Runs Durably.TestHost (copied next to the tests by the project reference) as a real child process.
internal static class ChildProcess
{
    public static Process Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    public static Process Start(IReadOnlyDictionary<string, string> environment, params string[] args) => Start(environment, redirectInput: false, args);

    // Starts the child with its standard input a pipe the test writes to.
    public static Process StartWithInput(params string[] args) => Start(new Dictionary<string, string>(), redirectInput: true, args);

    private static Process Start(IReadOnlyDictionary<string, string> environment, bool redirectInput, string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = redirectInput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Durably.TestHost.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("Could not start Durably.TestHost.");
    }

    public static async Task<string> RunAsync(params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"TestHost {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}");
        return (await stdout).Trim();
    }

    // Reads the child's output up to the first line starting with prefix and returns that line.
    public static async Task<string> WaitForLineAsync(this Process process, string prefix, CancellationToken cancellationToken)
    {
        while (await process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }
        }

        Assert.Fail($"The child exited before printing '{prefix}': {await process.StandardError.ReadToEndAsync(cancellationToken)}");
        return null!;
    }
}
