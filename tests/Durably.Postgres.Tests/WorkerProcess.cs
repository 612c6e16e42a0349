using System.Diagnostics;
using System.Globalization;

namespace Durably.Postgres.Tests;

// A worker child process (Durably.TestHost, copied next to the tests): a real worker that can be killed with SIGKILL, paused
// with SIGSTOP and continued with SIGCONT. Its stdout and stderr lines are kept for assertions. This part knows no store; the
// SQLite tests link it too (the `pg-worker` factory is in WorkerProcess.Postgres.cs).
internal sealed partial class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _gate = new();
    private readonly Task _reading;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WorkerProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        _reading = Task.WhenAll(ReadAsync(process.StandardOutput), ReadAsync(process.StandardError));
    }

    public string Name { get; }

    public int Id => _process.Id;

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

    // Starts any TestHost command that prints "ready NAME" once started (such as schedule-worker); see StartAsync.
    public static Task<WorkerProcess> StartCommandAsync(string name, IEnumerable<string> args) => StartAsync(name, args);

    // Starts Durably.TestHost with these arguments and returns once it has started its runtime (it printed "ready NAME").
    public static async Task<WorkerProcess> StartAsync(string name, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Durably.TestHost.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var worker = new WorkerProcess(name, Process.Start(info) ?? throw new InvalidOperationException("Could not start Durably.TestHost."));
        await worker.WaitForLineAsync(l => l == "ready " + name, TimeSpan.FromSeconds(30));
        return worker;
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
                Assert.Fail($"worker {Name} exited with {_process.ExitCode} before printing the expected line:\n{Output}");
            }

            var left = deadline - DateTime.UtcNow;
            Assert.True(left > TimeSpan.Zero, $"worker {Name} did not print the expected line in {timeout.TotalSeconds} s:\n{Output}");
            await Task.WhenAny(changed, Task.Delay(left));
        }
    }

    // SIGKILL: no finally blocks, no disposal, no goodbye to the database, as an OOM kill or a pulled plug.
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public Task PauseAsync() => SignalAsync("STOP");

    public Task ContinueAsync() => SignalAsync("CONT");

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await SignalAsync("CONT");
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        await _reading;
        _process.Dispose();
    }

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
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
