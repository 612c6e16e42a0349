using System.Text.Json;

namespace Durably.Cli.Tests;

// The tool acting on runs that a host in another process executes, on the same SQLite file.
public sealed class HostProcessTests(StoreFixture fixture) : IClassFixture<StoreFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Approve_RunWaitingInHostProcess_ResumesItAndJournalsTheApprover()
    {
        var store = _folder.File("agent.db");
        await using var host = Processes.StartHost(store, "research-7", "research");
        await host.WaitForLineAsync("started research-7");
        await Stores.WaitForAsync(store, new RunId("research-7"), r => r.StatusDetail?.Contains("approval:publish", StringComparison.Ordinal) == true);

        var approve = await Processes.DurablyAsync("approve", "research-7", "publish", "--comment", "ship it", "--as", "maria", "--store", store);

        Assert.True(approve.ExitCode == 0, approve.ToString());
        Assert.Contains("Approved gate 'publish' of run research-7 as maria", approve.Stdout, StringComparison.Ordinal);
        Assert.Equal("result published by maria: ship it", await host.WaitForLineAsync("result "));
        Assert.Equal(0, await host.WaitForExitAsync());
        var show = await Processes.DurablyAsync("runs", "show", "research-7", "--store", store, "--json");
        using var timeline = JsonDocument.Parse(show.Stdout);
        Assert.Equal("completed", timeline.RootElement.GetProperty("status").GetString());
        var gate = timeline.RootElement.GetProperty("steps").EnumerateArray().Single(s => s.TryGetProperty("approvalGate", out _));
        Assert.Equal("maria", gate.GetProperty("sender").GetString());
        Assert.Equal("ship it", gate.GetProperty("decision").GetProperty("comment").GetString());
    }

    [Fact]
    public async Task Reject_RunWaitingInHostProcess_EndsTheRunRejected()
    {
        var store = _folder.File("agent.db");
        await using var host = Processes.StartHost(store, "research-8", "research");
        await host.WaitForLineAsync("started research-8");
        await Stores.WaitForAsync(store, new RunId("research-8"), r => r.StatusDetail?.Contains("approval:publish", StringComparison.Ordinal) == true);

        var reject = await Processes.DurablyAsync("reject", "research-8", "publish", "--as", "lee", "--store", store);

        Assert.True(reject.ExitCode == 0, reject.ToString());
        Assert.Equal("result rejected by lee", await host.WaitForLineAsync("result "));
    }

    [Fact]
    public async Task Resolve_StepInDoubtAfterHostCrash_CompletesRunAndJournalsResolver()
    {
        var store = _folder.File("mail.db");
        var marker = _folder.File("crash-once");
        await File.WriteAllTextAsync(marker, "crash in send-email");
        var environment = new Dictionary<string, string> { ["DURABLY_TEST_CRASH_MARKER"] = marker };
        await using (var crashing = Processes.StartHost(store, "mail-1", "mailer", environment))
        {
            Assert.NotEqual(0, await crashing.WaitForExitAsync());
        }

        await using var host = Processes.StartHost(store, "mail-1", "mailer", environment);
        await host.WaitForLineAsync("started mail-1");
        await Stores.WaitForAsync(store, new RunId("mail-1"), r => r.StatusDetail?.Contains("in-doubt", StringComparison.Ordinal) == true);
        var show = await Processes.DurablyAsync("runs", "show", "mail-1", "--store", store);
        Assert.Matches(@"\n\s*1\s+effect\s+send-email\s+IN DOUBT\s", show.Stdout);
        Assert.Contains("durably resolve mail-1 1 --done", show.Stdout, StringComparison.Ordinal);

        var resolve = await Processes.DurablyAsync("resolve", "mail-1", "1", "--done", "\"sent by hand\"", "--as", "ops", "--store", store);

        Assert.True(resolve.ExitCode == 0, resolve.ToString());
        Assert.Equal("result sent by hand", await host.WaitForLineAsync("result "));
        var after = await Processes.DurablyAsync("runs", "show", "mail-1", "--store", store, "--json");
        var step = JsonDocument.Parse(after.Stdout).RootElement.GetProperty("steps")[0];
        Assert.Equal(("completed", "ops"), (step.GetProperty("state").GetString(), step.GetProperty("resolvedBy").GetString()));
    }

    [Fact]
    public async Task Fork_CompletedRun_CreatesPendingRunThatTheHostExecutes()
    {
        var store = fixture.Copy(_folder);

        var fork = await Processes.DurablyAsync("fork", "done-1", "--at-step", "4", "--new-id", "what-if-1", "--reuse-model-outputs", "--store", store);

        Assert.True(fork.ExitCode == 0, fork.ToString());
        Assert.Contains("as what-if-1", fork.Stdout, StringComparison.Ordinal);
        var created = await Stores.GetAsync(store, new RunId("what-if-1"));
        Assert.Equal(Durably.Storage.RunStatus.Pending, created!.Status);
        await using var host = Processes.StartHost(store, "what-if-1", "research");
        Assert.Equal("result published by ana: ship it", await host.WaitForLineAsync("result "));
        var show = await Processes.DurablyAsync("runs", "show", "what-if-1", "--store", store);
        Assert.Contains("Forked     from done-1 at step 4 (reuses recorded model outputs)", show.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\n\s*5\s+effect\s+publish\s+completed\s", show.Stdout);
    }
}
