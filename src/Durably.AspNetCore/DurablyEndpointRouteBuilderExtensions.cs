using System.Diagnostics.CodeAnalysis;
using Durably;
using Durably.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Durably's endpoints into an ASP.NET Core application.</summary>
public static class DurablyEndpointRouteBuilderExtensions
{
    /// <summary>Maps a GET endpoint that streams a run's events as server-sent events (<c>text/event-stream</c>), live, until the run ends.</summary>
    /// <param name="endpoints">The application or route group.</param>
    /// <param name="pattern">The route; it must have the run id parameter (<see cref="RunEventStreamOptions.RunIdParameter"/>). Default <c>/runs/{runId}/events</c>.</param>
    /// <param name="options">The heartbeat interval, the run id parameter and how to find the client; defaults otherwise.</param>
    /// <returns>The endpoint's builder: protect it with <c>.RequireAuthorization(...)</c>, which the endpoint does not do itself.</returns>
    /// <remarks>
    /// <para>Each event of <see cref="DurableClient.WatchAsync(RunId, string?, CancellationToken)"/> is one server-sent event: <c>id:</c>
    /// its <see cref="RunEvent.Cursor"/>, <c>event:</c> its kind (<c>step.started</c>, <c>step.progress</c>, <c>run.completed</c>, ...),
    /// <c>data:</c> the <see cref="RunEvent"/> as JSON on one line. The stream starts after the cursor in the <c>Last-Event-ID</c> header
    /// (sent by a browser's <c>EventSource</c> when it reconnects) or else in the <c>?from=</c> query parameter, or at the run's start,
    /// so a client that reconnects sees no event twice and misses none.</para>
    /// <para>A comment line is written after every <see cref="RunEventStreamOptions.HeartbeatInterval"/> of silence to keep proxies from
    /// closing the connection. The response ends after the run's last event; a request for a finished run with nothing after its
    /// cursor is answered 204 No Content, which stops an <c>EventSource</c> from reconnecting. An unknown run is answered 404, a cursor
    /// that is not one of the run's 400, both with a JSON body <c>{"error": "..."}</c>.</para>
    /// <para>Authorization is the application's: anyone who can reach the endpoint can read what the run's steps return (previews of
    /// results, model text). Require a policy that checks the caller may see the run.</para>
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="pattern"/> is empty.</exception>
    public static RouteHandlerBuilder MapDurablyRunEvents(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern = "/runs/{runId}/events", RunEventStreamOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        options ??= new RunEventStreamOptions();
        ArgumentException.ThrowIfNullOrWhiteSpace(options.RunIdParameter, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.HeartbeatInterval, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.WriteTimeout, TimeSpan.Zero, nameof(options));
        if (!pattern.Contains("{" + options.RunIdParameter, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The route '{pattern}' has no '{{{options.RunIdParameter}}}' parameter for the run id. Use a route like \"/runs/{{{options.RunIdParameter}}}/events\", or set RunEventStreamOptions.RunIdParameter to the parameter's name.", nameof(pattern));
        }

        // A handler delegate rather than a RequestDelegate, so the endpoint takes endpoint filters as well as conventions.
        Delegate handler = (HttpContext http) => RunEventStream.ServeAsync(http, options);
        return endpoints.MapGet(pattern, handler)
            .WithDisplayName("Durably run events")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .Produces(StatusCodes.Status204NoContent)
            .Produces(StatusCodes.Status400BadRequest)
            .Produces(StatusCodes.Status404NotFound);
    }
}
