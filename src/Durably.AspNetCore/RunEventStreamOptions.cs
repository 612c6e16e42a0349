using Microsoft.AspNetCore.Http;

namespace Durably.AspNetCore;

/// <summary>Configures the server-sent event endpoint that <c>MapDurablyRunEvents</c> maps.</summary>
public sealed class RunEventStreamOptions
{
    /// <summary>Gets the name of the route parameter that holds the run id. Default <c>runId</c>.</summary>
    public string RunIdParameter { get; init; } = "runId";

    /// <summary>Gets how long the stream may stay silent before the endpoint writes a comment line (<c>: keep-alive</c>), so that proxies and load balancers keep the connection open. Default 15 seconds.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Gets how long writing one event may wait for a client that does not read before the endpoint drops the connection. Default 30 seconds.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets the reconnection delay the endpoint tells browsers (the <c>retry:</c> field), or <see langword="null"/> to leave the browser's default. Default 2 seconds.</summary>
    public TimeSpan? RetryInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets how the endpoint finds the client it watches through; by default the <see cref="DurableClient"/> registered in the request's services (<c>services.AddDurably(...)</c> registers one).</summary>
    public Func<HttpContext, DurableClient>? ClientFactory { get; init; }
}
