using System.Text.Json;
using Durably.Sqlite;
using Microsoft.Playwright;

namespace Durably.Cli.Tests;

// Parent and child runs (RunContext.RunChildAsync) as `durably runs list|show` and the dashboard's API show them, on a store
// where the lead "lead-1" waits for its child "lead-1:c1", a research run waiting at its approval gate.
public sealed class ChildRunCommandTests : IDisposable
{
    private static readonly RunId Lead = new("lead-1");
    private static readonly RunId Child = RunId.ForChild(Lead, 1);
    private readonly TempFolder _folder = new();

    [Fact]
    public async Task RunsList_ChildRun_ShowsItsParentInTextAndJson()
    {
        var store = await CreateAsync(finish: false);

        var text = await Processes.DurablyAsync("runs", "list", "--store", store);
        var json = await Processes.DurablyAsync("runs", "list", "--store", store, "--json");

        Assert.Equal(0, text.ExitCode);
        Assert.Matches(@"RUN\s+WORKFLOW\s+STATUS\s+UPDATED\s+PARENT\s+DETAIL", text.Stdout);
        Assert.Matches(@"lead-1:c1\s+research\s+suspended\s+\S+ \S+\s+lead-1\s+signal: step 4 waits for 'approval:publish'", text.Stdout);
        Assert.Matches(@"lead-1\s+lead\s+suspended\s+\S+ \S+\s+-\s+child: step 1 waits for run 'lead-1:c1'", text.Stdout);
        using var document = JsonDocument.Parse(json.Stdout);
        var runs = document.RootElement.GetProperty("runs").EnumerateArray().ToDictionary(r => r.GetProperty("runId").GetString()!);
        Assert.Equal("lead-1", runs["lead-1:c1"].GetProperty("parentRunId").GetString());
        Assert.False(runs["lead-1"].TryGetProperty("parentRunId", out _));
    }

    [Fact]
    public async Task RunsShow_ParentAndChild_NameEachOtherAndTheWaitingStep()
    {
        var store = await CreateAsync(finish: false);

        var parent = await Processes.DurablyAsync("runs", "show", "lead-1", "--store", store);
        var child = await Processes.DurablyAsync("runs", "show", "lead-1:c1", "--store", store);
        var json = await Processes.DurablyAsync("runs", "show", "lead-1", "--store", store, "--json");

        Assert.Equal(0, parent.ExitCode);
        Assert.Contains("Children   lead-1:c1", parent.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\n\s*1\s+child\s+research\s+waiting\s+1\s+-\s+-\s+0\s+waits for child run lead-1:c1", parent.Stdout);
        Assert.Contains("Parent     lead-1 (its step 1); see it with: durably runs show lead-1", child.Stdout, StringComparison.Ordinal);
        using var timeline = JsonDocument.Parse(json.Stdout);
        Assert.Equal("lead-1:c1", timeline.RootElement.GetProperty("children")[0].GetString());
        Assert.Equal("lead-1:c1", timeline.RootElement.GetProperty("steps")[0].GetProperty("childRunId").GetString());
    }

    [Fact]
    public async Task RunsShow_ChildApprovedAndFinished_ShowsTheChildsOutcomeInTheParent()
    {
        var store = await CreateAsync(finish: true);

        var parent = await Processes.DurablyAsync("runs", "show", "lead-1", "--store", store);

        Assert.Equal(0, parent.ExitCode);
        Assert.Matches(@"\n\s*1\s+child\s+research\s+completed\s+1\s+.*child run lead-1:c1 completed", parent.Stdout);
        Assert.Contains("Result     \"lead: published by ana: go\"", parent.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Pending signal", parent.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_RunListAndTimeline_CarryTheParentChildLinks()
    {
        var store = await CreateAsync(finish: false);
        await using var server = await Dashboard.StartAsync(_folder, store);
        using var http = server.Client();

        using var list = JsonDocument.Parse(await http.GetStringAsync("api/runs"));
        using var parent = JsonDocument.Parse(await http.GetStringAsync("api/runs/lead-1"));
        using var child = JsonDocument.Parse(await http.GetStringAsync("api/runs/lead-1%3Ac1"));

        var runs = list.RootElement.GetProperty("runs").EnumerateArray().ToDictionary(r => r.GetProperty("runId").GetString()!);
        Assert.Equal("lead-1", runs["lead-1:c1"].GetProperty("parentRunId").GetString());
        Assert.Equal("lead-1:c1", parent.RootElement.GetProperty("children")[0].GetString());
        Assert.Equal(("waiting", "lead-1:c1"), (parent.RootElement.GetProperty("steps")[0].GetProperty("state").GetString(), parent.RootElement.GetProperty("steps")[0].GetProperty("childRunId").GetString()));
        Assert.Equal(("lead-1", 1), (child.RootElement.GetProperty("parentRunId").GetString(), child.RootElement.GetProperty("parentStep").GetInt32()));
    }

    [Fact]
    public async Task Dashboard_InTheBrowser_LinksChildToParentAndParentToChild()
    {
        var store = await CreateAsync(finish: false);
        await using var server = await Dashboard.StartAsync(_folder, store);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("DURABLY_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 820 } });
        page.SetDefaultTimeout(20_000);

        await page.GotoAsync(server.Url.ToString());
        var childRow = page.Locator("#runs tr[data-run='lead-1:c1']");
        Assert.Contains("child of lead-1", await childRow.InnerTextAsync(), StringComparison.Ordinal);
        await childRow.Locator(".parent a").ClickAsync();

        await page.Locator("h1 code", new PageLocatorOptions { HasTextString = "lead-1" }).WaitForAsync();
        var step = page.Locator("#steps tr[data-step='1']");
        Assert.Contains("Waits for child run lead-1:c1", await step.InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "dashboard-child-runs.png"), FullPage = true });
        await step.Locator(".child a").ClickAsync();

        await page.Locator("h1 code", new PageLocatorOptions { HasTextString = "lead-1:c1" }).WaitForAsync();
        Assert.Contains("Child run of lead-1 (its step 1)", await page.Locator("p.parent").InnerTextAsync(), StringComparison.Ordinal);
        await page.Locator(".approval[data-run='lead-1:c1'][data-gate='publish']").WaitForAsync();
    }

    public void Dispose() => _folder.Dispose();

    // The lead starts the research agent as its child; the child waits at its approval gate (and, with finish, is approved by
    // "ana" and finishes, and so does the lead).
    private async Task<string> CreateAsync(bool finish)
    {
        var path = _folder.File("agent.db");
        await using var store = await SqliteJournalStore.OpenAsync(path);
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions
        {
            WorkerId = "test-builder",
            PollInterval = TimeSpan.FromMilliseconds(50),
            MaxInMemoryWait = TimeSpan.FromSeconds(1),
        });
        AgentWorkflows.Register(runtime);
        runtime.Register<string, string>("lead", async (ctx, topic) => "lead: " + await ctx.RunChildAsync<string, string>(AgentWorkflows.Research, topic));
        await runtime.StartAsync();
        await runtime.Client.StartAsync("lead", "child runs", new StartRunOptions { RunId = Lead });
        await Stores.WaitForAsync(store, Child, r => r.StatusDetail?.Contains("approval:publish", StringComparison.Ordinal) == true);
        await Stores.WaitForAsync(store, Lead, r => r.Status == Durably.Storage.RunStatus.Suspended);
        if (finish)
        {
            await runtime.Client.ApproveAsync(new ApprovalRequest(Child, "publish", "ana") { Comment = "go" });
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await runtime.Client.GetResultAsync<string>(Lead, timeout.Token);
        }

        await runtime.StopAsync();
        return path;
    }
}
