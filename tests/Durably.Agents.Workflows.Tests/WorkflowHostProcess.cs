using System.Diagnostics;

namespace Durably.Agents.Workflows.Tests;

// Runs Durably.Agents.Workflows.TestHost (copied next to the tests by the project reference) as a real child process.
internal sealed class WorkflowHostProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];

    private WorkflowHostProcess(Process process) => _process = process;

    public IReadOnlyList<string> Lines => _lines;

    public static WorkflowHostProcess Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Durably.Agents.Workflows.TestHost.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return new(Process.Start(info) ?? throw new InvalidOperationException("Could not start Durably.Agents.Workflows.TestHost."));
    }

    // Reads the child's output up to the first line starting with prefix and returns that line.
    public async Task<string> WaitForLineAsync(string prefix)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (await _process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            _lines.Add(line);
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }
        }

        Assert.Fail($"The workflow host exited before printing '{prefix}' (printed: {string.Join(" | ", _lines)}): {await _process.StandardError.ReadToEndAsync(timeout.Token)}");
        return null!;
    }

    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);   // SIGKILL on Unix
        await _process.WaitForExitAsync();
    }

    // Waits for a clean exit and returns every line printed.
    public async Task<IReadOnlyList<string>> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var stderr = _process.StandardError.ReadToEndAsync(timeout.Token);
        while (await _process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            _lines.Add(line);
        }

        await _process.WaitForExitAsync(timeout.Token);
        Assert.True(_process.ExitCode == 0, $"The workflow host exited with {_process.ExitCode}: {await stderr}");
        return _lines;
    }

    public void Dispose() => _process.Dispose();
}
