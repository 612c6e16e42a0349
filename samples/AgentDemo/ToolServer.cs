using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace AgentDemo;

// The outside world of the demo: three query APIs, a chat notification and a publish endpoint on 127.0.0.1.
// Like a careful real API it honours Idempotency-Key: a repeated key gets the first answer back and changes nothing.
// It counts every request, so the demo can show what was sent, what was applied, and what a naive restart repeats.
internal sealed class ToolServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, string> _responses = new();
    private readonly ConcurrentQueue<LedgerLine> _requests = new();
    private readonly Task _loop;

    private ToolServer(int port)
    {
        Port = port;
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public static ToolServer Start()
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new ToolServer(FreePort());
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                // The port was taken between finding it and binding it; try another.
            }
        }
    }

    public IReadOnlyList<LedgerLine> Requests => [.. _requests];

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
        {
        }

        _listener.Close();
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var path = request.Url!.AbsolutePath;
        var key = request.Headers["Idempotency-Key"];
        var fencing = request.Headers["X-Fencing-Token"];
        string body;
        using (var reader = new StreamReader(request.InputStream, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync();
        }

        string response;
        int status;
        bool duplicate = false;
        if (path == "/ledger")
        {
            status = 200;
            response = JsonSerializer.Serialize(Requests);
        }
        else if (string.IsNullOrEmpty(key))
        {
            status = 400;
            response = "{\"error\":\"Idempotency-Key header required\"}";
        }
        else
        {
            status = 200;
            var fresh = Answer(path, request.QueryString["q"] ?? body);
            response = _responses.GetOrAdd(key + " " + path, fresh);
            duplicate = !ReferenceEquals(response, fresh) && _requests.Any(r => r.Key == key && r.Path == path);
            _requests.Enqueue(new LedgerLine(path, key, fencing, duplicate));
        }

        var bytes = Encoding.UTF8.GetBytes(response);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (duplicate)
        {
            context.Response.Headers["Idempotent-Replayed"] = "true";
        }

        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    // Deterministic answers, so every run of the demo tells the same story.
    private static string Answer(string path, string query) => path switch
    {
        "/weather" => JsonSerializer.Serialize(new { city = query, forecast = "clear skies, 14 C, light wind from the west" }),
        "/news" => JsonSerializer.Serialize(new { topic = query, headlines = new[] { "Databases have logged before writing since the 1970s", "Agents that crash at step 7 now restart at step 8" } }),
        "/prices" => JsonSerializer.Serialize(new { symbol = query, price = 187.42, change = "+1.3%" }),
        "/notify" => JsonSerializer.Serialize(new { ok = true, channel = "#research", message_id = "msg-" + Math.Abs(query.GetHashCode(StringComparison.Ordinal) % 100000) }),
        "/publish" => JsonSerializer.Serialize(new { ok = true, url = "https://example.invalid/reports/durable-agents" }),
        _ => "{\"error\":\"unknown endpoint\"}",
    };

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}

// One request the tool server received: its endpoint, its idempotency key and whether the key had been seen before.
internal sealed record LedgerLine(string Path, string Key, string? FencingToken, bool Duplicate);
