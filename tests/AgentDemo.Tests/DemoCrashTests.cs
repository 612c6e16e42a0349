using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentDemo.Tests;

// The demo's promise, checked with real processes: kill the agent at any step, start it again on the same journal,
// and it ends with the same result as an uninterrupted run, each side effect applied once.
public sealed class DemoCrashTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-demo-tests", Guid.NewGuid().ToString("N"));
    private Process? _tools;
    private string _toolsUrl = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        _tools = Start("tools");
        _toolsUrl = (await _tools.StandardOutput.ReadLineAsync())!.Trim();
    }

    public async Task DisposeAsync()
    {
        if (_tools is not null)
        {
            _tools.StandardInput.Close();
            await _tools.WaitForExitAsync();
            _tools.Dispose();
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task CrashAtEveryStep_ThenRestart_SameResultHashAndEachEffectAppliedOnce()
    {
        var reference = await CompleteAsync("reference", crash: null);

        for (var step = 1; step <= 12; step++)
        {
            var runId = $"crash-at-{step}";
            var crashed = await RunAgentAsync(runId, "--crash-at-step", step);
            Assert.True(crashed.ExitCode != 0, $"the agent was to be killed after step {step} but exited {crashed.ExitCode}");
            var completed = crashed.Events.Where(e => (string?)e["event"] == "step.completed").Select(e => e["step"]!.GetValue<int>()).Distinct().Order();
            Assert.Equal(Enumerable.Range(1, step), completed);

            Assert.Equal(reference, await CompleteAsync(runId, crash: null));
            await AssertEachEffectAppliedOnceAsync(runId, allowInDoubtRetry: null);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(6)]
    [InlineData(8)]
    [InlineData(11)]
    public async Task CrashInsideEffectStep_ThenRestart_RetriesWithTheSameKeyAndTheTargetAppliesItOnce(int step)
    {
        var reference = await CompleteAsync("reference-in", crash: null);
        var runId = $"crash-in-{step}";

        var crashed = await RunAgentAsync(runId, "--crash-in-step", step);

        Assert.True(crashed.ExitCode != 0);
        Assert.Equal(reference, await CompleteAsync(runId, crash: null));
        await AssertEachEffectAppliedOnceAsync(runId, allowInDoubtRetry: step);
    }

    [Fact]
    public async Task Run_PostgresStoreKilledAfterStep7ThenRestarted_SameResultAndTheRestartSendsAHigherFencingToken()
    {
        var reference = await CompleteAsync("reference-pg", crash: null);
        var runId = "pg-" + Guid.NewGuid().ToString("N")[..12];
        var settings = new Npgsql.NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable("DURABLY_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("DURABLY_POSTGRES is not set, so the demo has no PostgreSQL server. Run the tests through scripts/with-postgres.sh."));
        var store = $"postgres://{settings.Username}@{settings.Host}:{settings.Port}/{settings.Database}";
        string[] args = ["run", "--store", store, "--run-id", runId, "--tools-url", _toolsUrl, "--events", "json", "--timer", "0", "--out", Path.Combine(_folder, "out")];

        var crashed = await RunToEndAsync(Start([.. args, "--crash-at-step", "7"]));
        var resumed = await RunToEndAsync(Start(args));

        Assert.True(crashed.ExitCode != 0, $"the agent was to be killed after step 7 but exited {crashed.ExitCode}: {crashed.Errors}");
        Assert.True(resumed.ExitCode == 0, $"the restarted agent exited {resumed.ExitCode}: {resumed.Errors}");
        Assert.Equal(reference, (string)resumed.Events.Single(e => (string?)e["event"] == "run.completed")["sha256"]!);
        await AssertEachEffectAppliedOnceAsync(runId, allowInDoubtRetry: null);

        // The tools saw the lease epoch as X-Fencing-Token: one before the crash, higher ones after the restart took the run
        // back (each resumption from the approval gate and the timer is a new claim, with a new epoch).
        using var http = new HttpClient();
        var tokens = JsonNode.Parse(await http.GetStringAsync(_toolsUrl + "/ledger"))!.AsArray()
            .Where(l => ((string)l!["Key"]!).StartsWith(runId + ":", StringComparison.Ordinal))
            .Select(l => (Step: int.Parse(((string)l!["Key"]!)[(runId.Length + 1)..], CultureInfo.InvariantCulture), Token: long.Parse((string)l["FencingToken"]!, CultureInfo.InvariantCulture)))
            .ToList();
        var before = Assert.Single(tokens.Where(t => t.Step <= 7).Select(t => t.Token).Distinct());
        var after = tokens.Where(t => t.Step > 7).ToList();
        Assert.NotEmpty(after);
        Assert.All(after, t => Assert.True(t.Token > before, $"step {t.Step} sent fencing token {t.Token} after the restart, {before} before the crash"));
        Assert.Equal(tokens.OrderBy(t => t.Step).Select(t => t.Token), tokens.Select(t => t.Token).Order());
    }

    [Fact]
    public async Task Story_PostgresStore_RefusesAndPointsToTheRunCommand()
    {
        var story = await RunToEndAsync(Start("--store", "postgres://worker@db/app"));

        Assert.Equal(2, story.ExitCode);
        Assert.Contains("run --store postgres://", story.Errors, StringComparison.Ordinal);
    }

    private async Task<string> CompleteAsync(string runId, string? crash)
    {
        var run = await RunAgentAsync(runId, crash);
        Assert.True(run.ExitCode == 0, $"run {runId} exited {run.ExitCode}: {run.Errors}");
        return (string)run.Events.Single(e => (string?)e["event"] == "run.completed")["sha256"]!;
    }

    private async Task AssertEachEffectAppliedOnceAsync(string runId, int? allowInDoubtRetry)
    {
        using var http = new HttpClient();
        var ledger = JsonNode.Parse(await http.GetStringAsync(_toolsUrl + "/ledger"))!.AsArray()
            .Select(l => (Key: (string)l!["Key"]!, Duplicate: (bool)l["Duplicate"]!))
            .Where(l => l.Key.StartsWith(runId + ":", StringComparison.Ordinal))
            .ToList();
        var applied = ledger.Where(l => !l.Duplicate).Select(l => l.Key).ToList();
        Assert.Equal(applied.Distinct().Count(), applied.Count);
        Assert.Equal(5, applied.Count); // three queries, the notification and the publish call
        var duplicates = ledger.Where(l => l.Duplicate).Select(l => l.Key).ToList();
        Assert.Equal(allowInDoubtRetry is { } s && s is not (6 or 7) ? [$"{runId}:{s}"] : [], duplicates);

        var writes = File.ReadAllLines(Path.Combine(_folder, "out", runId, "effects.log"));
        Assert.Equal(2, writes.Distinct().Count());
    }

    private Task<AgentRun> RunAgentAsync(string runId, string? crashFlag, int step = 0)
    {
        var args = new List<string> { "run", "--store", Path.Combine(_folder, runId + ".db"), "--run-id", runId, "--tools-url", _toolsUrl, "--events", "json", "--timer", "0", "--out", Path.Combine(_folder, "out") };
        if (crashFlag is not null)
        {
            args.Add(crashFlag);
            args.Add(step.ToString(CultureInfo.InvariantCulture));
        }

        return RunToEndAsync(Start([.. args]));
    }

    private async Task<AgentRun> RunToEndAsync(Process process)
    {
        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            var events = new List<JsonObject>();
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                try
                {
                    if (JsonNode.Parse(line) is JsonObject e)
                    {
                        events.Add(e);
                    }
                }
                catch (JsonException)
                {
                }
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            return new AgentRun(process.ExitCode, events, await errors);
        }
    }

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AgentDemo.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info)!;
    }

    private sealed record AgentRun(int ExitCode, List<JsonObject> Events, string Errors);
}
