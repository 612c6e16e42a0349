using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;

namespace Durably.Cli.Tests;

// The real dashboard (`durably serve` as a child process) in headless Chromium from the system's packages, over a store
// whose run "web-1" waits for approval in a host process.
public sealed class DashboardTests(DashboardFixture dashboard) : IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task RunList_RunStartedByTest_ShowsRunAndPendingApprovals()
    {
        var page = await dashboard.NewPageAsync();

        await page.GotoAsync(dashboard.Url);

        var row = page.Locator("#runs tr[data-run='web-1']");
        await row.WaitForAsync();
        Assert.Contains("research", await row.InnerTextAsync(), StringComparison.Ordinal);
        await page.Locator(".approval[data-run='waiting-1'][data-gate='publish']").WaitForAsync();
        Assert.Equal("agent.db", await page.Locator("#store").InnerTextAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "dashboard-runs.png"), FullPage = true });
    }

    [Fact]
    public async Task RunList_StoreWithASchedule_ShowsItInTheSchedulesTableAndTheApi()
    {
        // A workflow no process registers, so the host's scheduler leaves it alone.
        await using (var store = await Durably.Sqlite.SqliteJournalStore.OpenAsync(new Durably.Sqlite.SqliteJournalStoreOptions { Path = dashboard.Store, CreateIfMissing = false }))
        {
            await new DurableClient(store).Schedules.SaveAsync(Durably.Scheduling.ScheduleDefinition.ForCron("dashboard-digest", "digest-nobody-runs", "0 2 * * *"));
        }

        using var http = new HttpClient { BaseAddress = new Uri(dashboard.Url) };
        using var listed = JsonDocument.Parse(await http.GetStringAsync("api/schedules"));
        var page = await dashboard.NewPageAsync();
        await page.GotoAsync(dashboard.Url);
        var row = page.Locator("#schedules tr[data-schedule='dashboard-digest']");
        await row.WaitForAsync();

        Assert.True(listed.RootElement.GetProperty("supported").GetBoolean());
        var schedule = Assert.Single(listed.RootElement.GetProperty("schedules").EnumerateArray(), s => s.GetProperty("scheduleId").GetString() == "dashboard-digest");
        Assert.Equal("digest-nobody-runs", schedule.GetProperty("workflow").GetString());
        var text = await row.InnerTextAsync();
        Assert.Contains("cron '0 2 * * *' UTC", text, StringComparison.Ordinal);
        Assert.Contains("active", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approve_InThePage_FinishesTheRunAndJournalsTheApprover()
    {
        var page = await dashboard.NewPageAsync();
        await page.GotoAsync(dashboard.Url);
        await page.FillAsync("#token", DashboardFixture.ApproverToken);
        await page.ClickAsync("#token-form button");
        await page.Locator("#who", new PageLocatorOptions { HasTextString = "signed in as maria" }).WaitForAsync();
        var card = page.Locator(".approval[data-run='web-1'][data-gate='publish']");

        await card.Locator("input").FillAsync("from the page");
        await card.Locator("button[data-action='approve']").ClickAsync();

        Assert.Equal("result published by maria: from the page", await dashboard.Host.WaitForLineAsync("result "));
        var row = page.Locator("#runs tr[data-run='web-1']", new PageLocatorOptions { HasTextString = "completed" });
        await row.WaitForAsync();
        await page.GotoAsync(dashboard.Url + "#/runs/web-1");
        await page.ReloadAsync();
        await page.Locator("h1 .badge", new PageLocatorOptions { HasTextString = "completed" }).WaitForAsync();
        var approval = await page.Locator("#steps tr[data-step='4']").InnerTextAsync();
        Assert.Contains("Approved by maria", approval, StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "dashboard-timeline.png"), FullPage = true });
        var show = await Processes.DurablyAsync("runs", "show", "web-1", "--store", dashboard.Store, "--json");
        var gate = JsonDocument.Parse(show.Stdout).RootElement.GetProperty("steps")[3];
        Assert.Equal(("maria", "from the page"), (gate.GetProperty("sender").GetString(), gate.GetProperty("decision").GetProperty("comment").GetString()));
    }

    [Fact]
    public async Task Timeline_ChatRun_ShowsRepliesToolCallsAndCacheHits()
    {
        var page = await dashboard.NewPageAsync();

        await page.GotoAsync(dashboard.Url + "#/runs/chat-1");

        var call = page.Locator("#steps tr[data-step='1'] td.notes");
        await call.Locator(".call").WaitForAsync();
        Assert.Equal("asks for get_weather({\"city\":\"Lisbon\"})", await call.InnerTextAsync());
        var tool = await page.Locator("#steps tr[data-step='2'] td.notes").InnerTextAsync();
        Assert.Equal("get_weather({\"city\":\"Lisbon\"}) → {\"city\":\"Lisbon\",\"forecast\":\"sunny\"}", tool);
        Assert.Equal("“Lisbon is sunny today.”", await page.Locator("#steps tr[data-step='3'] td.notes .reply").InnerTextAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "dashboard-chat.png"), FullPage = true });

        await page.GotoAsync(dashboard.Url + "#/runs/chat-fork-1");
        await page.Locator("#steps tr[data-step='1'] .cachehit").WaitForAsync();
        Assert.Contains("cache hit: answered from chat-1", await page.Locator("#steps tr[data-step='3'] td.notes").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#steps tr[data-step='2'] .cachehit").CountAsync());
        Assert.Contains("steps 1, 3 (same request as in chat-1)", await page.Locator("dl.meta").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approve_WithoutTokenOrPermission_IsRefusedAndChangesNothing()
    {
        using var http = new HttpClient { BaseAddress = new Uri(dashboard.Url) };
        var url = "api/runs/waiting-1/approve/publish";

        var anonymous = await http.PostAsync(url, Json("{}"));
        var wrongToken = await http.SendAsync(Post(url, "not-a-token-of-this-dashboard"));
        var readOnly = await http.SendAsync(Post(url, DashboardFixture.ReaderToken));
        var page = await dashboard.NewPageAsync();
        await page.GotoAsync(dashboard.Url);
        await page.Locator(".approval[data-run='waiting-1'] button[data-action='approve']").ClickAsync();
        await page.Locator("#toast", new PageLocatorOptions { HasTextString = "Refused" }).WaitForAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("needs a bearer token", await anonymous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongToken.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, readOnly.StatusCode);
        var run = await Stores.GetAsync(dashboard.Store, Stores.Waiting);
        Assert.Equal(Durably.Storage.RunStatus.Suspended, run!.Status);
        var show = await Processes.DurablyAsync("runs", "show", "waiting-1", "--store", dashboard.Store, "--json");
        Assert.Equal(0, JsonDocument.Parse(show.Stdout).RootElement.GetProperty("pendingSignals").GetArrayLength());
    }

    [Fact]
    public async Task Read_ForeignHostNameWithoutToken_IsRefusedAndLoopbackStreamsEvents()
    {
        using var http = new HttpClient { BaseAddress = new Uri(dashboard.Url) };
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "api/runs");
        rebound.Headers.Host = "attacker.example";
        using var withToken = new HttpRequestMessage(HttpMethod.Get, "api/runs");
        withToken.Headers.Host = "attacker.example";
        withToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", DashboardFixture.ReaderToken);

        using var events = await http.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead);
        using var stream = new StreamReader(await events.Content.ReadAsStreamAsync());
        var first = await stream.ReadLineAsync();

        var refused = await http.SendAsync(rebound);
        var allowed = await http.SendAsync(withToken);
        var local = await http.GetAsync("api/runs");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, local.StatusCode);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType?.MediaType);
        Assert.Equal("event: hello", first);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static HttpRequestMessage Post(string url, string token) => new(HttpMethod.Post, url)
    {
        Content = Json("{}"),
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
    };
}

// A store with real runs, a host process waiting at an approval gate, the dashboard, and the system's Chromium.
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string ApproverToken = "approver-0f3a9c2e7b1d4e6f8a";
    public const string ReaderToken = "reader-5c8e1a7d3b9f2e4a6c";
    private readonly TempFolder _folder = new();
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private ChildProcess? _host;
    private ChildProcess? _server;

    public string Store => _folder.File("agent.db");

    public string Url { get; private set; } = string.Empty;

    internal ChildProcess Host => _host!;

    public async Task InitializeAsync()
    {
        await Stores.CreateAsync(Store);
        await Stores.CreateChatAsync(Store);
        var tokens = _folder.WritePrivate("tokens.json", $$"""
            {"tokens": [
              {"token": "{{ApproverToken}}", "user": "maria", "actions": ["approve", "reject"]},
              {"token": "{{ReaderToken}}", "user": "auditor", "actions": []}
            ]}
            """);
        _host = Processes.StartHost(Store, "web-1", "research");
        await _host.WaitForLineAsync("started web-1");
        await Stores.WaitForAsync(Store, new RunId("web-1"), r => r.StatusDetail?.Contains("approval:publish", StringComparison.Ordinal) == true);
        _server = Processes.StartDurably(_folder.Path, "serve", "--store", "agent.db", "--urls", "http://127.0.0.1:0", "--token-file", tokens, "--poll-interval", "200");
        var line = await _server.WaitForLineAsync("Durably dashboard: ");
        Url = line["Durably dashboard: ".Length..].Split(' ')[0].TrimEnd('/') + "/";

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("DURABLY_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
    }

    public async Task<IPage> NewPageAsync()
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 820 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(20_000);
        return page;
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }
}
