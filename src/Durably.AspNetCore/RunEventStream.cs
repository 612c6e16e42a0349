using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Durably.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Durably.AspNetCore;

// Serves one request of the run event endpoint: checks the run and the cursor before the response starts (404, 400),
// then writes each RunEvent as a server-sent event and a comment after every heartbeat interval of silence, and ends the
// response after the run's last event. A request for a finished run with nothing after its cursor gets 204, which tells
// a browser's EventSource to stop reconnecting.
internal static class RunEventStream
{
    private static readonly byte[] Heartbeat = ": keep-alive\n\n"u8.ToArray();

    public static async Task ServeAsync(HttpContext http, RunEventStreamOptions options)
    {
        var client = options.ClientFactory?.Invoke(http) ?? http.RequestServices.GetService<DurableClient>()
            ?? throw new InvalidOperationException("MapDurablyRunEvents found no DurableClient in the request's services. Register one (services.AddDurably(...) does, or services.AddSingleton(new DurableClient(store))), or set RunEventStreamOptions.ClientFactory.");
        var aborted = http.RequestAborted;
        var text = http.Request.RouteValues[options.RunIdParameter] as string;
        if (RunId.Validate(text ?? "") is { } invalid)
        {
            await ErrorAsync(http, StatusCodes.Status404NotFound, $"No run has the id '{text}': {invalid}");
            return;
        }

        var runId = new RunId(text!);

        // A browser that reconnects sends the id of the last event it received; it outranks the cursor in the URL, which
        // is the one the page first asked for.
        var cursor = http.Request.Headers["Last-Event-ID"].FirstOrDefault() is { Length: > 0 } lastEventId ? lastEventId : http.Request.Query["from"].FirstOrDefault();
        if (cursor is { Length: 0 })
        {
            cursor = null;
        }

        IAsyncEnumerator<RunEvent> events;
        try
        {
            events = client.WatchAsync(runId, cursor, aborted).GetAsyncEnumerator(aborted);
        }
        catch (ArgumentException ex)
        {
            await ErrorAsync(http, StatusCodes.Status400BadRequest, ex.Message);
            return;
        }

        await using (events)
        {
            try
            {
                await StreamAsync(http, events, options, aborted);
            }
            catch (RunNotFoundException ex) when (!http.Response.HasStarted)
            {
                await ErrorAsync(http, StatusCodes.Status404NotFound, ex.Message);
            }
            catch (ArgumentException ex) when (!http.Response.HasStarted)
            {
                await ErrorAsync(http, StatusCodes.Status400BadRequest, ex.Message);
            }
            catch (Exception ex) when (aborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
            {
                // The client went away.
            }
        }
    }

    private static async Task StreamAsync(HttpContext http, IAsyncEnumerator<RunEvent> events, RunEventStreamOptions options, CancellationToken aborted)
    {
        while (true)
        {
            var next = events.MoveNextAsync().AsTask();
            while (true)
            {
                using (var silence = CancellationTokenSource.CreateLinkedTokenSource(aborted))
                {
                    var beat = Task.Delay(options.HeartbeatInterval, silence.Token);
                    var first = await Task.WhenAny(next, beat);

                    // Frees the timer at once rather than after the interval: a stream may carry many events a second.
                    await silence.CancelAsync();
                    if (first == next)
                    {
                        break;
                    }
                }

                aborted.ThrowIfCancellationRequested();
                await StartAsync(http, options, aborted);
                await WriteAsync(http, Heartbeat, options, aborted);
            }

            if (!await next)
            {
                if (!http.Response.HasStarted)
                {
                    // Nothing after the cursor, and nothing will come: the run has finished.
                    http.Response.StatusCode = StatusCodes.Status204NoContent;
                }

                return;
            }

            var runEvent = events.Current;
            await StartAsync(http, options, aborted);
            await WriteAsync(http, Format(runEvent), options, aborted);
            if (runEvent.IsFinal)
            {
                return;
            }
        }
    }

    // Once the socket's buffers are full a write waits for the client to read; a client that does not read within the
    // write timeout is dropped, so it cannot hold the connection and its buffers forever.
    private static async Task WriteAsync(HttpContext http, byte[] bytes, RunEventStreamOptions options, CancellationToken aborted)
    {
        using var deadline = new CancellationTokenSource(options.WriteTimeout);
        using var drop = deadline.Token.Register(http.Abort);
        await http.Response.Body.WriteAsync(bytes, aborted);
        await http.Response.Body.FlushAsync(aborted);
    }

    private static async Task StartAsync(HttpContext http, RunEventStreamOptions options, CancellationToken aborted)
    {
        if (http.Response.HasStarted)
        {
            return;
        }

        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";

        // Tells nginx not to buffer the stream.
        http.Response.Headers["X-Accel-Buffering"] = "no";
        http.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
        if (options.RetryInterval is { } retry)
        {
            await http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"retry: {(long)retry.TotalMilliseconds}\n\n")), aborted);
        }
    }

    // One event: its cursor as the id (what the browser sends back as Last-Event-ID), its kind as the event type, the event
    // as one line of JSON (JSON escapes line breaks inside strings, so the data field is one line).
    internal static byte[] Format(RunEvent runEvent)
    {
        var json = runEvent.ToJson();
        return Encoding.UTF8.GetBytes($"id: {runEvent.Cursor}\nevent: {KindName(runEvent.Kind)}\ndata: {json}\n\n");
    }

    internal static string KindName(RunEventKind kind) => JsonSerializer.Serialize(kind, RunEventStreamJsonContext.Default.RunEventKind).Trim('"');

    private static async Task ErrorAsync(HttpContext http, int status, string message)
    {
        http.Response.StatusCode = status;
        await http.Response.WriteAsJsonAsync(new RunEventError(message), RunEventStreamJsonContext.Default.RunEventError, cancellationToken: http.RequestAborted);
    }
}

/// <summary>Is the body of an error answer of the run event endpoint.</summary>
/// <param name="Error">What was wrong and what to do.</param>
internal sealed record RunEventError([property: JsonPropertyName("error")] string Error);

[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(RunEventKind))]
[JsonSerializable(typeof(RunEventError))]
internal sealed partial class RunEventStreamJsonContext : JsonSerializerContext;
