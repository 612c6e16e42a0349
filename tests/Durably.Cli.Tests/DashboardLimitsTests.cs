using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;

namespace Durably.Cli.Tests;

// What one client can take from `durably serve`: request bodies, live-update streams, a stream it stops reading.
public sealed class DashboardLimitsTests(StoreFixture fixture) : IClassFixture<StoreFixture>, IDisposable
{
    private const string Token = "limits-7d1e4a9c2b5f8e3a6d";
    private readonly TempFolder _folder = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    [Fact]
    public async Task Post_BodyOverTheLimit_Gets413AndDeliversNothing()
    {
        var store = fixture.Copy(_folder);
        await using var server = await Dashboard.StartAsync(_folder, store, "--token-file", Tokens());
        using var http = server.Client(Token);
        var before = await SignalsAsync(store);

        var declared = await http.PostAsync("api/runs/waiting-1/signals/big", Json($"\"{new string('x', 64 * 1024)}\""));
        var chunked = await http.PostAsync("api/runs/waiting-1/approve/publish", new ChunkedContent(Encoding.UTF8.GetBytes($"{{\"comment\":\"{new string('y', 100 * 1024)}\"}}")));
        var afterRefusals = await SignalsAsync(store);
        var small = await http.PostAsync("api/runs/waiting-1/signals/small", Json($"\"{new string('z', 1024)}\""));

        foreach (var refused in new[] { declared, chunked })
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
            Assert.Contains("larger than the dashboard accepts (64 KiB); nothing was delivered", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(before, afterRefusals);
        Assert.Equal(RunStatus.Suspended, (await Stores.GetAsync(store, Stores.Waiting))!.Status);
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal(before.Append("small"), await SignalsAsync(store));
    }

    [Fact]
    public async Task Events_MoreClientsThanTheCap_Get503UntilOneDisconnects()
    {
        var store = fixture.Copy(_folder);
        await using var server = await Dashboard.StartAsync(_folder, store, "--max-live-clients", "2");
        using var http = server.Client();
        var first = await OpenEventsAsync(http);
        var second = await OpenEventsAsync(http);

        using var refused = await http.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead);
        var message = await refused.Content.ReadAsStringAsync();
        first.Dispose();
        using var accepted = await WaitForEventsAsync(http, TimeSpan.FromSeconds(20));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(10), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("streams live updates to 2 client(s), its limit (serve --max-live-clients)", message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        second.Dispose();
    }

    [Fact]
    public async Task Events_ClientThatStopsReading_IsDroppedAndItsSlotFreed()
    {
        var store = _folder.File("busy.db");
        await (await SqliteJournalStore.OpenAsync(store)).DisposeAsync();
        await using var server = await Dashboard.StartAsync(_folder, store, "--max-live-clients", "1", "--poll-interval", "50");
        using var http = server.Client();
        using var stuck = await RawClient.ConnectAsync(server.Url, receiveBuffer: 4096);
        await stuck.SendAsync("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        await stuck.ReadUntilAsync("event: hello");
        using var whileStuck = await http.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead);

        // Runs with long status details change faster than the stuck client reads: the server's writes to it fill the
        // socket buffers and then wait, until the write timeout drops it.
        using var stop = new CancellationTokenSource();
        var churn = ChurnAsync(store, stop.Token);
        HttpResponseMessage accepted;
        try
        {
            accepted = await WaitForEventsAsync(http, TimeSpan.FromSeconds(60));
        }
        finally
        {
            await stop.CancelAsync();
            await churn;
        }

        using (accepted)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, whileStuck.StatusCode);
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
            Assert.True(await stuck.ReadToEndAsync(TimeSpan.FromSeconds(30)), "The server did not close the stuck client's connection.");
        }
    }

    private string Tokens() => _folder.WritePrivate("tokens.json", $$"""{"tokens":[{"token":"{{Token}}","user":"maria","actions":["*"]}]}""");

    private static async Task<List<string>> SignalsAsync(string store)
    {
        await using var opened = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = store, CreateIfMissing = false });
        return [.. (await opened.ReadSignalsAsync(Stores.Waiting)).Select(s => s.Name)];
    }

    private static async Task<HttpResponseMessage> OpenEventsAsync(HttpClient http)
    {
        var response = await http.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(), leaveOpen: true);
        Assert.Equal("event: hello", await reader.ReadLineAsync());
        return response;
    }

    // Asks for a live-update stream until one is granted; every refusal on the way must be the cap's 503.
    private static async Task<HttpResponseMessage> WaitForEventsAsync(HttpClient http, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var response = await http.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                return response;
            }

            response.Dispose();
            Assert.True(DateTime.UtcNow < deadline, "No live-update slot was freed in time.");
            await Task.Delay(100);
        }
    }

    // Starts 20 runs at a time, each with a 16 KiB status detail, until stopped.
    private static async Task ChurnAsync(string path, CancellationToken cancellationToken)
    {
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });
        var detail = new string('d', 16 * 1024);
        for (var round = 0; !cancellationToken.IsCancellationRequested; round++)
        {
            var appends = Enumerable.Range(0, 20)
                .Select(i => new RunAppend(new RunId($"churn-{round}-{i}"), 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UtcNow, Workflow = "churn" }]) { Status = RunStatus.Suspended, StatusDetail = detail })
                .ToList();
            await store.AppendAsync(appends, CancellationToken.None);
            try
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    // A body sent with chunked transfer encoding: no Content-Length for the server to refuse up front.
    private sealed class ChunkedContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

// Kestrel's timeouts in `durably serve`: a client that sends its request too slowly, or keeps an idle connection, is cut off.
// The deadlines leave room for a busy machine and are shorter than Kestrel's defaults (30 s for headers, 130 s idle).
public sealed class DashboardTimeoutTests(StoreFixture fixture) : IClassFixture<StoreFixture>, IDisposable
{
    private const string Token = "timeouts-3f8b2d6e1a9c4e7b5d";
    private readonly TempFolder _folder = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    [Fact]
    public async Task Request_HeadersNeverFinished_ConnectionClosed()
    {
        await using var server = await Dashboard.StartAsync(_folder, fixture.Copy(_folder));
        using var client = await RawClient.ConnectAsync(server.Url);

        await client.SendAsync("GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n");

        Assert.True(await client.ReadToEndAsync(TimeSpan.FromSeconds(20)), "A request whose headers never finished kept its connection.");
    }

    [Fact]
    public async Task Post_BodyTrickledTooSlowly_ConnectionClosedAndNothingDelivered()
    {
        var store = fixture.Copy(_folder);
        var tokens = _folder.WritePrivate("tokens.json", $$"""{"tokens":[{"token":"{{Token}}","user":"maria","actions":["signal"]}]}""");
        await using var server = await Dashboard.StartAsync(_folder, store, "--token-file", tokens);
        using var client = await RawClient.ConnectAsync(server.Url);

        await client.SendAsync($"POST /api/runs/waiting-1/signals/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {Token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n\"just a");

        Assert.True(await client.ReadToEndAsync(TimeSpan.FromSeconds(20)), "A body that stopped arriving kept its connection.");
        await using var opened = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = store, CreateIfMissing = false });
        Assert.DoesNotContain(await opened.ReadSignalsAsync(Stores.Waiting), s => s.Name == "slow");
    }

    [Fact]
    public async Task Connection_IdleAfterAnAnswer_Closed()
    {
        await using var server = await Dashboard.StartAsync(_folder, fixture.Copy(_folder));
        using var client = await RawClient.ConnectAsync(server.Url);

        await client.SendAsync("GET /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        var answer = await client.ReadUntilAsync("}");

        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
        Assert.True(await client.ReadToEndAsync(TimeSpan.FromSeconds(25)), "An idle kept-alive connection was never closed.");
    }
}

// `durably serve` on a free loopback port, as a child process.
internal sealed class Dashboard(ChildProcess process, Uri url) : IAsyncDisposable
{
    public Uri Url { get; } = url;

    public static async Task<Dashboard> StartAsync(TempFolder folder, string store, params string[] args)
    {
        var process = Processes.StartDurably(folder.Path, ["serve", "--store", store, "--urls", "http://127.0.0.1:0", .. args]);
        var line = await process.WaitForLineAsync("Durably dashboard: ");
        return new Dashboard(process, new Uri(line["Durably dashboard: ".Length..].Split(' ')[0].TrimEnd('/') + "/"));
    }

    public HttpClient Client(string? token = null) => new()
    {
        BaseAddress = Url,
        Timeout = TimeSpan.FromSeconds(30),
        DefaultRequestHeaders = { Authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token) },
    };

    public ValueTask DisposeAsync() => process.DisposeAsync();
}

// A bare TCP client, to send a request as slowly as a test wants and to stop reading an answer.
internal sealed class RawClient(Socket socket) : IDisposable
{
    private readonly StringBuilder _received = new();

    public static async Task<RawClient> ConnectAsync(Uri url, int? receiveBuffer = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (receiveBuffer is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        await socket.ConnectAsync(IPAddress.Loopback, url.Port);
        return new RawClient(socket);
    }

    public async Task SendAsync(string text) => await socket.SendAsync(Encoding.ASCII.GetBytes(text));

    // Reads until what came so far contains the text, and returns it.
    public async Task<string> ReadUntilAsync(string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[1024];
        while (!_received.ToString().Contains(text, StringComparison.Ordinal))
        {
            var read = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.True(read > 0, $"The connection closed before '{text}' came; got: {_received}");
            _received.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return _received.ToString();
    }

    // Reads and discards until the server closes the connection (true), or the timeout passes (false).
    public async Task<bool> ReadToEndAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, cancel.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => socket.Dispose();
}
