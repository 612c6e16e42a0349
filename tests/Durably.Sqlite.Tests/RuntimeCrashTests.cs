namespace Durably.Sqlite.Tests;

// Guarantees 1-3 on real processes: a child running a 12-step workflow is killed with SIGKILL after each step
// boundary in turn, then started again on the same SQLite file.
public sealed class RuntimeCrashTests : IDisposable
{
    private readonly TempFolder _folder = new();

    [Fact]
    public async Task KillAtEveryStepBoundary_RestartedRun_SameResultEachEffectOnceNoStepRerun()
    {
        var reference = await RunAsync("reference", crashAfter: 0);
        var referenceBodies = File.ReadAllLines(_folder.File("reference.ledger.bodies"));
        Assert.Equal(12, referenceBodies.Length);

        for (var step = 1; step <= 12; step++)
        {
            var name = $"crash-{step}";
            var crashed = await RunChildAsync(name, crashAfter: step);
            Assert.True(crashed.ExitCode != 0, $"the child was to be killed after step {step} but exited {crashed.ExitCode}");
            Assert.Equal(step, File.ReadAllLines(_folder.File(name + ".ledger.bodies")).Length);

            var result = await RunAsync(name, crashAfter: 0);

            Assert.Equal(reference, result);
            var bodies = File.ReadAllLines(_folder.File(name + ".ledger.bodies"));
            Assert.Equal(referenceBodies, bodies); // every step ran exactly once, in order, with the same key
            var applied = File.ReadAllLines(_folder.File(name + ".ledger"));
            Assert.Equal(7, applied.Length);
            Assert.Equal(applied.Distinct().Count(), applied.Length);
        }
    }

    private async Task<string> RunAsync(string name, int crashAfter)
    {
        var (exit, output) = await RunChildAsync(name, crashAfter);
        Assert.True(exit == 0, $"{name}: the child exited {exit}: {output}");
        return output.Split('\n').Single(l => l.StartsWith("result ", StringComparison.Ordinal));
    }

    private async Task<(int ExitCode, string Output)> RunChildAsync(string name, int crashAfter)
    {
        using var process = ChildProcess.Start("workflow", _folder.File(name + ".db"), "agent-run", _folder.File(name + ".ledger"), crashAfter.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    public void Dispose() => _folder.Dispose();
}
