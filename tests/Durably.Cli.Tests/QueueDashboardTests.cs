using System.Text.Json;
using Microsoft.Playwright;

namespace Durably.Cli.Tests;

// The dashboard's queue view in headless Chromium, over the store of QueueCommandTests: queue "models" with one run running,
// two queued (one held back by its per-key limit), and a paused queue "idle".
public sealed class QueueDashboardTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private Dashboard? _dashboard;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    [Fact]
    public async Task RunList_StoreWithQueues_ShowsEachQueuesLimitsAndCountsAndQueuedRuns()
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 820 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(20_000);

        await page.GotoAsync(_dashboard!.Url.ToString());

        var models = page.Locator("#queues tr[data-queue='models']");
        await models.WaitForAsync();
        Assert.Equal("1", await models.Locator("td[data-count='running']").InnerTextAsync());
        Assert.Equal("2", await models.Locator("td[data-count='queued']").InnerTextAsync());
        Assert.Equal("1", await models.Locator("td[data-count='limited']").InnerTextAsync());
        Assert.Contains("paused", await page.Locator("#queues tr[data-queue='idle']").InnerTextAsync(), StringComparison.Ordinal);
        var budget = page.Locator("#queues tr[data-queue='budget']");
        Assert.Contains("50,000", await budget.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("0", await budget.Locator("td[data-count='tokens']").InnerTextAsync());
        Assert.Equal("-", await models.Locator("td[data-count='tokens']").InnerTextAsync());
        var waiting = await page.Locator("#runs tr[data-run='m-2']").InnerTextAsync();
        Assert.Contains("queued", waiting, StringComparison.Ordinal);
        Assert.Contains("models / tenant-a", waiting, StringComparison.Ordinal);
        Assert.Contains("pending", await page.Locator("#runs tr[data-run='m-1']").InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "dashboard-queues.png"), FullPage = true });

        using var http = _dashboard.Client();
        using var json = JsonDocument.Parse(await http.GetStringAsync("api/queues"));
        Assert.Equal(["budget", "idle", "models"], json.RootElement.GetProperty("queues").EnumerateArray().Select(q => q.GetProperty("definition").GetProperty("name").GetString()));
    }

    public async Task InitializeAsync()
    {
        var store = await QueueCommandTests.CreateAsync(_folder);
        _dashboard = await Dashboard.StartAsync(_folder, store, "--poll-interval", "200");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("DURABLY_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_dashboard is not null)
        {
            await _dashboard.DisposeAsync();
        }

        _folder.Dispose();
    }
}
