using System.Net;
using Microsoft.AspNetCore.Http;

namespace Durably.Cli.Dashboard;

// Every change needs a bearer token that allows it; reading is open to loopback clients that name a loopback host,
// and needs a token otherwise. The Host check keeps a web page on another site from reading through DNS rebinding.
internal sealed class DashboardAuth(TokenFile tokens)
{
    public const string ReadAction = "read";

    public TokenFile Tokens { get; } = tokens;

    public (DashboardGrant? Grant, IResult? Refusal) Check(HttpContext http, string action)
    {
        DashboardGrant? grant = null;
        string header = http.Request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return (null, Unauthorized("The Authorization header must be 'Bearer TOKEN'."));
            }

            grant = Tokens.Find(header["Bearer ".Length..].Trim());
            if (grant is null)
            {
                return (null, Unauthorized("The bearer token is not one of the dashboard's tokens (see --token-file)."));
            }
        }

        if (action == ReadAction)
        {
            return grant is not null || IsLoopback(http)
                ? (grant, null)
                : (null, Unauthorized("Reading needs a bearer token when the dashboard is not reached on loopback (127.0.0.1 or localhost)."));
        }

        if (grant is null)
        {
            var how = Tokens.Count == 0
                ? "This dashboard was started without --token-file, so it accepts no changes; restart it with a token file."
                : "Send 'Authorization: Bearer TOKEN' with a token from the dashboard's token file (in the page: paste it into the token field).";
            return (null, Unauthorized($"'{action}' changes a run and needs a bearer token. {how}"));
        }

        if (!grant.Allows(action))
        {
            return (grant, Results.Json(new { error = $"The token of '{grant.User}' does not allow '{action}'. Add \"{action}\" to its actions in the token file." }, CliJson.Compact, statusCode: StatusCodes.Status403Forbidden));
        }

        return (grant, null);
    }

    private static bool IsLoopback(HttpContext http)
    {
        if (http.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote))
        {
            return false;
        }

        var host = http.Request.Host.Host;
        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }

    private static IResult Unauthorized(string message)
        => new UnauthorizedJson(message);

    // 401 with a JSON body and the WWW-Authenticate challenge.
    private sealed class UnauthorizedJson(string message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.WWWAuthenticate = "Bearer realm=\"durably\"";
            return Results.Json(new { error = message }, CliJson.Compact, statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(httpContext);
        }
    }
}
