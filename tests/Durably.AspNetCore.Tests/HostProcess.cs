using System.Diagnostics;

namespace Durably.AspNetCore.Tests;

// A Durably.AspNetCore.TestHost child process (copied next to the tests): a worker or a web server with its own connection
// to the test's store. Killed with SIGKILL by Kill; its output lines are kept for assertions and failure messages.
internal sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _gate = new();
    private readonly Task _reading;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HostProcess(Process process)
    {
        _process = process;
        _reading = Task.WhenAll(ReadAsync(process.StandardOutput), ReadAsync(process.StandardError));
    }

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return string.Join("\n", _lines);
            }
        }
    }

    // Starts the host and returns it with the first line that starts with readyPrefix (after that prefix).
    public static async Task<(HostProcess Host, string Ready)> StartAsync(string readyPrefix, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Durably.AspNetCore.TestHost.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var host = new HostProcess(Process.Start(info) ?? throw new InvalidOperationException("Could not start Durably.AspNetCore.TestHost."));
        var line = await host.WaitForLineAsync(l => l.StartsWith(readyPrefix, StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        return (host, line[readyPrefix.Length..]);
    }

    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_lines.FirstOrDefault(predicate) is { } line)
                {
                    return line;
                }

                changed = _changed.Task;
            }

            if (_process.HasExited && _reading.IsCompleted)
            {
                throw new InvalidOperationException($"The host exited with {_process.ExitCode} before printing the line waited for. Output:\n{Output}");
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"The host did not print the line waited for within {timeout}. Output:\n{Output}");
            }

            await Task.WhenAny(changed, Task.Delay(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1)));
        }
    }

    // SIGKILL: the process gets no chance to finish a write or release a lease.
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.StandardInput.Close();
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                await _process.WaitForExitAsync(stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        await _reading;
        _process.Dispose();
    }

    private async Task ReadAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_gate)
            {
                _lines.Add(line);
                _changed.TrySetResult();
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }
}
