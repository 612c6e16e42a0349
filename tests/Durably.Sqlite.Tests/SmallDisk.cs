using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite.Tests;

// A folder whose disk fills up: a tmpfs of a few hundred kilobytes mounted for the test where the test may mount
// (root on Linux, as on CI), otherwise an ordinary folder whose store has SQLITE_FULL injected at its commit point
// from a chosen batch on. Both say which they are, and either way the test runs all its assertions.
// DURABLY_TEST_NO_MOUNT=1 forces the injected kind, to run that path where mounting works.
internal sealed class SmallDisk : IDisposable
{
    private static readonly Lazy<string?> MountProblem = new(ProbeMount);
    private readonly TempFolder _folder = new();
    private readonly Lock _gate = new();
    private int _fullAfterBatches = -1;
    private bool _mounted;

    public SmallDisk(int kilobytes)
    {
        Path = _folder.File("disk");
        Directory.CreateDirectory(Path);
        if (MountProblem.Value is null)
        {
            Run("mount", "-t", "tmpfs", "-o", $"size={kilobytes}k,mode=0700", "tmpfs", Path);
            _mounted = true;
        }
    }

    // True when a real file system fills up; false when SQLITE_FULL is injected.
    public bool IsReal => _mounted;

    public string Path { get; }

    public string Description => _mounted
        ? $"a real tmpfs at {Path}"
        : $"injected SQLITE_FULL (cannot mount a tmpfs here: {MountProblem.Value})";

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public SqliteJournalStoreOptions Options(string name) => new() { Path = File(name), FaultInjector = Inject };

    // Without a mount, the disk "fills up" at the given commit from now on (a real tmpfs fills by itself).
    public void FillAfter(int batches)
    {
        lock (_gate)
        {
            _fullAfterBatches = _mounted ? -1 : batches;
        }
    }

    // Frees space: remounts the tmpfs bigger, or stops injecting.
    public void Grow(int kilobytes)
    {
        if (_mounted)
        {
            Run("mount", "-o", $"remount,size={kilobytes}k", Path);
        }

        lock (_gate)
        {
            _fullAfterBatches = -1;
        }
    }

    public void Dispose()
    {
        // Pooled connections keep files open, and an open file keeps the mount busy.
        SqliteConnection.ClearAllPools();
        if (_mounted)
        {
            if (!TryRun("umount", Path))
            {
                // Something still holds a file (a leaked connection): detach now, freed when it closes.
                Run("umount", "-l", Path);
            }

            _mounted = false;
        }

        _folder.Dispose();
    }

    private void Inject(SqliteFaultPoint point)
    {
        if (point != SqliteFaultPoint.Commit)
        {
            return;
        }

        lock (_gate)
        {
            if (_fullAfterBatches < 0 || _fullAfterBatches-- > 0)
            {
                return;
            }

            _fullAfterBatches = 0;
        }

        // What SQLite reports when write() fails with ENOSPC while it writes the WAL frames of a commit.
        throw new SqliteException("database or disk is full", 13, 13);
    }

    private static string? ProbeMount()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux";
        }

        if (Environment.GetEnvironmentVariable("DURABLY_TEST_NO_MOUNT") is "1")
        {
            return "DURABLY_TEST_NO_MOUNT=1";
        }

        var probe = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "durably-mount-probe-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(probe);
        try
        {
            if (!TryRun("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe))
            {
                return "mount -t tmpfs failed (not root, or no CAP_SYS_ADMIN)";
            }

            TryRun("umount", probe);
            return null;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return ex.Message;
        }
        finally
        {
            Directory.Delete(probe);
        }
    }

    private static void Run(params string[] command)
    {
        if (!TryRun(command))
        {
            throw new InvalidOperationException($"'{string.Join(' ', command)}' failed.");
        }
    }

    private static bool TryRun(params string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in command[1..])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0;
    }
}
