using System.Net;
using System.Text.Json;
using Durably.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Durably.AspNetCore.Tests;

// The endpoint's HTTP contract, on the real Kestrel at 127.0.0.1 with a worker in the same process.
public sealed class RunEventEndpointTests : IAsyncLifetime
{
    private readonly InMemoryJournalStore _store = new();
    private DurableRuntime _runtime = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private string _url = null!;

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    public async Task InitializeAsync()
    {
        _runtime = new DurableRuntime(_store, new DurableRuntimeOptions { PollInterval = TimeSpan.FromMilliseconds(50) });
        _runtime.Register<int, int>("count", async (ctx, n) =>
        {
            for (var i = 1; i <= n; i++)
            {
                var k = i;
                await ctx.StepAsync($"step-{k}", _ => Task.FromResult(k));
            }

            return n;
        });
        _runtime.Register<int, string>("gated", async (ctx, _) => await ctx.WaitForSignalAsync<string>("go"));
        await _runtime.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(_runtime.Client);
        _app = builder.Build();
        _app.MapDurablyRunEvents("/runs/{runId}/events", new RunEventStreamOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(100) });
        await _app.StartAsync();
        _url = _app.Urls.First();
        _http = new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
        await _runtime.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task MapDurablyRunEvents_FinishedRun_StreamsEveryEventAndEnds()
    {
        var runId = await FinishedRunAsync(2);

        var messages = await ReadAllAsync($"{_url}/runs/{runId.Value}/events", null);

        Assert.Equal(["0", "1", "2", "3", "4", "5"], messages.Select(m => m.Id));
        Assert.Equal(["run.started", "step.started", "step.completed", "step.started", "step.completed", "run.completed"], messages.Select(m => m.Event));
        var completed = JsonDocument.Parse(messages[4].Data!).RootElement;
        Assert.Equal(("step-2", "compute", 2, "2"), (completed.GetProperty("name").GetString(), completed.GetProperty("stepKind").GetString(), completed.GetProperty("step").GetInt32(), completed.GetProperty("preview").GetString()));
    }

    [Fact]
    public async Task MapDurablyRunEvents_LastEventIdAndFrom_LastEventIdOutranksTheQuery()
    {
        var runId = await FinishedRunAsync(2);

        var fromQuery = await ReadAllAsync($"{_url}/runs/{runId.Value}/events?from=1", null);
        var fromHeader = await ReadAllAsync($"{_url}/runs/{runId.Value}/events?from=1", "3");

        Assert.Equal(["2", "3", "4", "5"], fromQuery.Select(m => m.Id));
        Assert.Equal(["4", "5"], fromHeader.Select(m => m.Id));
    }

    [Fact]
    public async Task MapDurablyRunEvents_FinishedRunAtItsLastEvent_Answers204()
    {
        var runId = await FinishedRunAsync(1);

        using var response = await SseStream.ConnectAsync(_http, $"{_url}/runs/{runId.Value}/events", "3", Timeout);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    [Fact]
    public async Task MapDurablyRunEvents_UnknownRun_Answers404SayingSo()
    {
        using var response = await SseStream.ConnectAsync(_http, $"{_url}/runs/nobody/events", null, Timeout);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("nobody", await ErrorOf(response), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc", "not a cursor of a run event")]
    [InlineData("99", "past the end of run")]
    public async Task MapDurablyRunEvents_BadCursor_Answers400SayingWhatToPass(string cursor, string message)
    {
        var runId = await FinishedRunAsync(1);

        using var response = await SseStream.ConnectAsync(_http, $"{_url}/runs/{runId.Value}/events?from={cursor}", null, Timeout);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, await ErrorOf(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MapDurablyRunEvents_WaitingRun_SendsHeartbeatsUntilItEndsThenEndsTheStream()
    {
        var handle = await _runtime.Client.StartAsync("gated", 0);
        using var response = await SseStream.ConnectAsync(_http, $"{_url}/runs/{handle.RunId.Value}/events", null, Timeout);
        var events = new List<string?>();
        var heartbeats = 0;
        var signalled = false;
        await foreach (var message in SseStream.ReadAsync(response, Timeout))
        {
            if (message.IsComment)
            {
                Assert.Equal("keep-alive", message.Data);
                if (++heartbeats == 3 && !signalled)
                {
                    // Heart-beats come while the run waits; the signal lets it end.
                    signalled = true;
                    await _runtime.Client.SignalAsync(handle.RunId, "go", "now", Timeout);
                }

                continue;
            }

            events.Add(message.Event);
        }

        Assert.True(heartbeats >= 3);
        Assert.Equal(["run.started", "run.suspended", "run.resumed", "signal.received", "run.completed"], events);
    }

    [Fact]
    public void MapDurablyRunEvents_RouteWithoutTheRunIdParameter_ThrowsSayingWhatToUse()
    {
        var ex = Assert.Throws<ArgumentException>(() => _app.MapDurablyRunEvents("/events/{id}"));

        Assert.Contains("{runId}", ex.Message, StringComparison.Ordinal);
    }

    private async Task<RunId> FinishedRunAsync(int steps)
    {
        var handle = await _runtime.Client.StartAsync("count", steps);
        await handle.GetResultAsync<int>(Timeout);
        return handle.RunId;
    }

    private async Task<List<SseStream.Message>> ReadAllAsync(string url, string? lastEventId)
    {
        using var response = await SseStream.ConnectAsync(_http, url, lastEventId, Timeout);
        var messages = new List<SseStream.Message>();
        await foreach (var message in SseStream.ReadAsync(response, Timeout))
        {
            if (!message.IsComment)
            {
                messages.Add(message);
            }
        }

        return messages;
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response)
        => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;
}
