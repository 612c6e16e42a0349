using System.Text.Json;
using Durably.Storage;
using Microsoft.Playwright;

namespace Durably.Cli.Tests;

// The run page follows the run's own event stream: a model step's text appears while it streams, and the steps after it
// appear, without reloading the page. The run executes in a host process; its signal comes from `durably signal`.
public sealed class DashboardLiveTests(DashboardFixture dashboard) : IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task RunPage_RunStreamsAndGoesOn_ShowsTheTextAndNewStepsWithoutReload()
    {
        var runId = new RunId("live-1");
        await using var host = Processes.StartHost(dashboard.Store, runId.Value, AgentWorkflows.Streaming);
        await host.WaitForLineAsync("started live-1");
        await Stores.WaitForAsync(dashboard.Store, runId, r => r.Status == RunStatus.Suspended);
        var page = await dashboard.NewPageAsync();
        await page.GotoAsync(dashboard.Url + "#/runs/live-1");
        await page.Locator("#steps tr[data-step='1']").WaitForAsync();
        Assert.Equal(0, await page.Locator("#steps tr[data-step='2']").CountAsync());
        await page.EvaluateAsync("() => { window.notReloaded = true; }");

        var signal = await Processes.DurablyAsync("signal", runId.Value, "go", "\"now\"", "--store", dashboard.Store);
        Assert.True(signal.ExitCode == 0, signal.Stderr);

        // The model step's text, while it streams (about six seconds), and then the steps after it and the run's end.
        // The model step appears as running (its intent is journaled with its first text), with its text so far.
        await page.Locator(".live-output", new PageLocatorOptions { HasTextString = "chunk3 " }).WaitForAsync();
        await page.Locator("#steps tr[data-step='2']", new PageLocatorOptions { HasTextString = "running" }).WaitForAsync();
        await page.Locator("#steps tr[data-step='3']").WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        await page.Locator("h1 .badge", new PageLocatorOptions { HasTextString = "completed" }).WaitForAsync();
        Assert.True(await page.EvaluateAsync<bool>("() => window.notReloaded === true"), "the page was reloaded");
        Assert.Equal(0, await page.Locator(".live-output").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "dashboard-live.png"), FullPage = true });

        // The journal with the progress entries reads in the CLI as any other.
        var show = await Processes.DurablyAsync("runs", "show", runId.Value, "--store", dashboard.Store, "--json");
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.Equal(3, JsonDocument.Parse(show.Stdout).RootElement.GetProperty("steps").GetArrayLength());
        var verify = await Processes.DurablyAsync("journal", "verify", "--store", dashboard.Store);
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
        var dump = await Processes.DurablyAsync("journal", "export", runId.Value, "--store", dashboard.Store);
        Assert.True(dump.ExitCode == 0, dump.Stderr);
        Assert.Equal(string.Concat(AgentWorkflows.StreamChunks), string.Concat(dump.Stdout.Split('\n').Where(l => l.Contains("\"step.progress\"", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString())));
    }
}
