using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Durably.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Durably.Cli.Dashboard;

// GET /api/events, the one result every request to it gets: server-sent events with the runs that changed, streamed to
// at most maxClients at a time. Each open stream holds a slot, a poll loop and buffers until its client goes away, so a
// client that stops reading is dropped once an event has waited WriteTimeout to be sent, and its slot is freed.
internal sealed class LiveUpdates(DurableClient client, TimeSpan pollInterval, int maxClients) : IResult
{
    public const int DefaultMaxClients = 32;
    public static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(10);
    private int _clients;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        if (Interlocked.Increment(ref _clients) > maxClients)
        {
            Interlocked.Decrement(ref _clients);
            httpContext.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            var message = $"The dashboard already streams live updates to {maxClients} client(s), its limit (serve --max-live-clients). Close another dashboard page or try again in {RetryAfter.TotalSeconds:0} seconds.";
            await Results.Json(new { error = message }, CliJson.Compact, statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(httpContext);
            return;
        }

        var aborted = httpContext.RequestAborted;
        try
        {
            httpContext.Response.ContentType = "text/event-stream";
            httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
            var body = httpContext.Response.Body;
            await foreach (var (type, data) in WatchAsync(aborted))
            {
                // Once the socket's buffers are full, a write waits for the client to read; past the deadline, drop it.
                using var deadline = new CancellationTokenSource(WriteTimeout);
                using var drop = deadline.Token.Register(httpContext.Abort);
                await body.WriteAsync(Encoding.UTF8.GetBytes($"event: {type}\ndata: {data}\n\n"), aborted);
                await body.FlushAsync(aborted);
            }
        }
        catch (Exception ex) when (aborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
            // The client went away, or was dropped for not reading.
        }
        finally
        {
            Interlocked.Decrement(ref _clients);
        }
    }

    // Polls the index for changed runs (the newest 200) and yields them; the page then reloads what it shows.
    private async IAsyncEnumerable<(string Type, string Data)> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        yield return ("hello", "{}");
        Dictionary<RunId, (RunStatus, DateTimeOffset, long)>? previous = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            var page = await TryListAsync(cancellationToken);
            if (page is not null)
            {
                var current = page.Runs.ToDictionary(r => r.RunId, r => (r.Status, r.UpdatedAt, r.NextSequence));
                if (previous is not null)
                {
                    var changed = page.Runs.Where(r => !previous.TryGetValue(r.RunId, out var before) || before != current[r.RunId]).ToList();
                    var removed = previous.Keys.Where(id => !current.ContainsKey(id)).ToList();
                    if (changed.Count > 0 || removed.Count > 0)
                    {
                        yield return ("runs", JsonSerializer.Serialize(new { runs = changed, removed }, CliJson.Compact));
                    }
                }

                previous = current;
            }

            if (!await DelayAsync(pollInterval, cancellationToken))
            {
                yield break;
            }
        }
    }

    private async Task<RunPage?> TryListAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await client.ListRunsAsync(new RunQuery { PageSize = 200 }, cancellationToken);
        }
        catch (JournalStoreException)
        {
            // Locked for a moment, or the file is being replaced: the next poll tries again.
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
