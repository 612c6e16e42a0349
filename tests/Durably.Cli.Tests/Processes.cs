using System.Diagnostics;
using System.Text;

namespace Durably.Cli.Tests;

// The tool's result: exit code and everything it printed.
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

// Runs the real `durably` tool (Durably.Cli.dll, copied next to the tests) and the test host as child processes.
internal static class Processes
{
    public static Task<CliResult> DurablyAsync(params string[] args) => DurablyWithInputAsync(null, args);

    // Runs the tool with standard input fed from the bytes (closed at once when null).
    public static async Task<CliResult> DurablyWithInputAsync(byte[]? input, params string[] args)
    {
        using var process = Start("Durably.Cli.dll", args, null, redirectInput: true);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            if (input is not null)
            {
                await process.StandardInput.BaseStream.WriteAsync(input, timeout.Token);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The tool may stop reading early (and exit) once it knows the input is too large.
        }

        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    public static ChildProcess StartDurably(string workingDirectory, params string[] args) => new(Start("Durably.Cli.dll", args, null, workingDirectory));

    // `agent STORE RUN WORKFLOW` in Durably.TestHost: hosts the test workflows and prints "result ..." when RUN finishes.
    public static ChildProcess StartHost(string store, string runId, string workflow, IDictionary<string, string>? environment = null)
        => new(Start("Durably.TestHost.dll", ["agent", store, runId, workflow], environment));

    private static Process Start(string dll, IEnumerable<string> args, IDictionary<string, string>? environment, string? workingDirectory = null, bool redirectInput = false)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            RedirectStandardInput = redirectInput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Remove("DURABLY_STORE");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {dll}.");
    }
}

// A long-running child: its output lines are collected as they come, so a test can await a line.
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();
    private readonly Task _reading;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ChildProcess(Process process)
    {
        _process = process;
        _reading = Task.WhenAll(ReadAsync(process.StandardOutput, _lines), ReadAsync(process.StandardError, null));
    }

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return string.Join("\n", _lines) + "\n--- stderr\n" + _stderr;
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    // Waits for a line starting with prefix; fails with everything printed so far if it does not come.
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line)
                {
                    return line;
                }

                changed = _changed.Task;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || (_process.HasExited && _reading.IsCompleted))
            {
                Assert.Fail($"No line starting with '{prefix}' came (exited: {_process.HasExited}). Output so far:\n{Output}");
            }

            await Task.WhenAny(changed, Task.Delay(left > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : left));
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The child process did not exit in time. Output so far:\n{Output}");
        }

        await _reading;
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        await _reading;
        _process.Dispose();
    }

    private async Task ReadAsync(StreamReader reader, List<string>? lines)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_gate)
            {
                if (lines is null)
                {
                    _stderr.AppendLine(line);
                }
                else
                {
                    lines.Add(line);
                }

                var changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                changed.SetResult();
            }
        }
    }
}
