using System.Net;
using System.Text;
using System.Text.Json;
using Durably.AspNetCore;
using Durably.Cli.Commands;
using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MinDataRate = Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate;

namespace Durably.Cli.Dashboard;

// The dashboard: a small page (embedded HTML/JS/CSS) and a JSON API over Durably's public APIs. It executes no run.
internal static class DashboardServer
{
    // The largest request body: approval comments, resolutions and signal payloads are small; a bigger payload goes
    // through `durably signal RUN NAME -`, up to the store's entry limit.
    public const int MaxRequestBodyBytes = 64 * 1024;

    // Slow or idle clients cannot hold a connection for long: headers must arrive within RequestHeadersTimeout, a body
    // at 240 bytes per second after a 5-second grace period, and an idle connection closes after KeepAliveTimeout.
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(15);

    public static WebApplication Create(DurableClient client, string storeLabel, TokenFile tokens, string urls, TimeSpan pollInterval, int maxLiveClients)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            kestrel.Limits.RequestHeadersTimeout = RequestHeadersTimeout;
            kestrel.Limits.KeepAliveTimeout = KeepAliveTimeout;
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().AddFilter((_, level) => level >= LogLevel.Warning);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.WebHost.UseUrls(urls);
        builder.Services.AddSingleton(new DashboardAuth(tokens));

        var app = builder.Build();
        app.Use(async (http, next) =>
        {
            var headers = http.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-store";
            await next(http);
        });

        app.MapGet("/", () => Asset("index.html"));
        app.MapGet("/assets/{file}", (string file) => Asset(file));

        var api = app.MapGroup("/api");
        api.MapGet("/session", (HttpContext http) =>
        {
            var grant = http.Items[typeof(DashboardGrant)] as DashboardGrant;
            return Results.Json(new { store = storeLabel, acceptsChanges = tokens.Count > 0, user = grant?.User, actions = grant?.Actions.Order() }, CliJson.Compact);
        }).Requires(DashboardAuth.ReadAction);

        api.MapGet("/runs", (HttpRequest request, CancellationToken cancellationToken) => Handle(async () =>
        {
            var statuses = request.Query["status"].Where(s => !string.IsNullOrWhiteSpace(s)).Select(s => Inputs.Status(s!)).ToHashSet();
            var workflow = request.Query["workflow"].ToString();
            var limit = int.TryParse(request.Query["limit"], out var l) ? Math.Clamp(l, 1, StoreLimits.MaxPageSize) : 200;
            var page = await client.ListRunsAsync(new RunQuery { Statuses = statuses.Count > 0 ? statuses : null, Workflow = string.IsNullOrWhiteSpace(workflow) ? null : workflow, PageSize = limit }, cancellationToken);
            var parents = await RunLinks.ParentsAsync(client, page.Runs, cancellationToken);
            return Results.Json(new { runs = RunLinks.ToJson(page.Runs, parents, CliJson.Compact), more = page.ContinuationToken is not null }, CliJson.Compact);
        })).Requires(DashboardAuth.ReadAction);

        api.MapGet("/queues", (CancellationToken cancellationToken) => Handle(async () =>
        {
            // A store without queues (IRunQueueStore) has none to show: an empty list, not an error.
            var queues = client.Store is IRunQueueStore ? await client.ListQueuesAsync(cancellationToken) : [];
            return Results.Json(new { queues }, CliJson.Compact);
        })).Requires(DashboardAuth.ReadAction);

        api.MapGet("/runs/{runId}", (string runId, CancellationToken cancellationToken) => Handle(async () =>
        {
            // The timeline's exact data, plus "views": model and tool steps as people read them, keyed by step number.
            var id = Inputs.RunId(runId);
            var timeline = JsonSerializer.SerializeToNode(await client.GetTimelineAsync(id, cancellationToken), CliJson.Compact)!.AsObject();
            timeline["views"] = JsonSerializer.SerializeToNode(await StepViews.ReadAsync(client.Store, id, cancellationToken), CliJson.Compact);
            return Results.Json(timeline, CliJson.Compact);
        })).Requires(DashboardAuth.ReadAction);

        api.MapGet("/runs/{runId}/journal", (string runId, CancellationToken cancellationToken) => Handle(async () =>
        {
            using var buffer = new MemoryStream();
            await client.ExportJournalAsync(Inputs.RunId(runId), buffer, cancellationToken);
            return Results.Bytes(buffer.ToArray(), "application/x-ndjson; charset=utf-8", $"{runId}.jsonl");
        })).Requires(DashboardAuth.ReadAction);

        api.MapGet("/approvals", (HttpRequest request, CancellationToken cancellationToken) => Handle(async () =>
        {
            var workflow = request.Query["workflow"].ToString();
            var pending = await client.ListPendingApprovalsAsync(new PendingApprovalQuery { Workflow = string.IsNullOrWhiteSpace(workflow) ? null : workflow, MaxCount = 200 }, cancellationToken);
            return Results.Json(new { approvals = pending }, CliJson.Compact);
        })).Requires(DashboardAuth.ReadAction);

        api.MapGet("/schedules", (CancellationToken cancellationToken) => Handle(async () =>
        {
            // A store without schedules has none to show; the page then leaves the section out.
            var schedules = client.Store is IScheduleStore ? await client.Schedules.ListAsync(new ScheduleQuery { MaxCount = 500 }, cancellationToken) : [];
            return Results.Json(new { supported = client.Store is IScheduleStore, schedules = schedules.Select(Commands.SchedulesCommands.ToJson) }, CliJson.Compact);
        })).Requires(DashboardAuth.ReadAction);

        foreach (var (action, approve) in new[] { ("approve", true), ("reject", false) })
        {
            api.MapPost($"/runs/{{runId}}/{action}/{{gate}}", (HttpContext http, string runId, string gate, CancellationToken cancellationToken) => Handle(async () =>
            {
                var body = await ReadJsonAsync(http.Request, "decision", cancellationToken);
                var comment = body is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("comment", out var c) && c.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(c.GetString()) ? c.GetString() : null;
                var (delivered, _) = await RunOperations.DecideAsync(client, Inputs.RunId(runId), gate, approve, User(http), comment, cancellationToken);
                return Results.Json(new { runId, gate, approved = approve, delivered.Sender, delivered.SignalId }, CliJson.Compact);
            })).Requires(action);
        }

        api.MapPost("/runs/{runId}/signals/{name}", (HttpContext http, string runId, string name, CancellationToken cancellationToken) => Handle(async () =>
        {
            var text = await ReadTextAsync(http.Request, cancellationToken);
            var payload = text.Length == 0 ? null : Inputs.Json(text, "signal payload");
            var delivered = await RunOperations.SignalAsync(client, Inputs.RunId(runId), name, payload, User(http), cancellationToken);
            return Results.Json(new { runId, name, delivered.Sender, delivered.SignalId }, CliJson.Compact);
        })).Requires("signal");

        api.MapPost("/runs/{runId}/steps/{step:int}/resolve", (HttpContext http, string runId, int step, CancellationToken cancellationToken) => Handle(async () =>
        {
            var body = await ReadJsonAsync(http.Request, "resolution", cancellationToken);
            var o = body is { ValueKind: JsonValueKind.Object } value ? value : default;
            var action = o.ValueKind == JsonValueKind.Object && o.TryGetProperty("action", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            InDoubtResolution resolution = action switch
            {
                "done" => InDoubtResolution.Done(o.TryGetProperty("result", out var r) ? Payload.FromJson(r.GetRawText()) : null),
                "retry" => InDoubtResolution.Retry,
                "abort" => InDoubtResolution.Abort,
                _ => throw new CliException(ExitCodes.BadInput, "Send {\"action\":\"done\",\"result\":<JSON>}, {\"action\":\"retry\"} or {\"action\":\"abort\"}."),
            };
            var (delivered, target) = await RunOperations.ResolveAsync(client, Inputs.RunId(runId), step, resolution, User(http), cancellationToken);
            return Results.Json(new { runId, step, target.Name, action, delivered.Sender, delivered.SignalId }, CliJson.Compact);
        })).Requires("resolve");

        var live = new LiveUpdates(client, pollInterval, maxLiveClients);
        api.MapGet("/events", () => live).Requires(DashboardAuth.ReadAction);

        // One run's events as they are journaled (steps, model stream text), for the run page.
        api.MapDurablyRunEvents("/runs/{runId}/events", new RunEventStreamOptions { ClientFactory = _ => client }).Requires(DashboardAuth.ReadAction);
        return app;
    }

    public static bool IsLoopbackOnly(string urls)
        => urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).All(url =>
            Uri.TryCreate(url, UriKind.Absolute, out var uri)
            && (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip))));

    private static RouteHandlerBuilder Requires(this RouteHandlerBuilder endpoint, string action)
        => endpoint.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var (grant, refusal) = http.RequestServices.GetRequiredService<DashboardAuth>().Check(http, action);
            if (refusal is not null)
            {
                return refusal;
            }

            http.Items[typeof(DashboardGrant)] = grant;
            return await next(context);
        });

    private static string User(HttpContext http) => ((DashboardGrant)http.Items[typeof(DashboardGrant)]!).User;

    // Maps failures to HTTP answers with the same messages the CLI prints.
    private static async Task<IResult> Handle(Func<Task<IResult>> action)
    {
        try
        {
            return await action();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var message = $"The request body is larger than the dashboard accepts ({MaxRequestBodyBytes / 1024} KiB); nothing was delivered. Send a smaller body, or deliver a large signal payload with 'durably signal RUN NAME -' (it reads standard input).";
            return Results.Json(new { error = message }, CliJson.Compact, statusCode: ex.StatusCode);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var status = ex switch
            {
                BadHttpRequestException bad => bad.StatusCode,
                CliException { ExitCode: ExitCodes.NotFound } or RunNotFoundException => StatusCodes.Status404NotFound,
                CliException { ExitCode: ExitCodes.Conflict } or RunFinishedException or JournalConcurrencyException => StatusCodes.Status409Conflict,
                CliException or PayloadTooLargeException or ArgumentException => StatusCodes.Status400BadRequest,
                JournalStoreLockedException => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status500InternalServerError,
            };
            var message = status == StatusCodes.Status500InternalServerError && ex is not DurablyException ? $"The request failed ({ex.GetType().Name}: {ex.Message})." : ex.Message;
            return Results.Json(new { error = message }, CliJson.Compact, statusCode: status);
        }
    }

    private static async Task<string> ReadTextAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        return (await reader.ReadToEndAsync(cancellationToken)).Trim();
    }

    private static async Task<JsonElement?> ReadJsonAsync(HttpRequest request, string what, CancellationToken cancellationToken)
    {
        var text = await ReadTextAsync(request, cancellationToken);
        if (text.Length == 0)
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(text);
            return json.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.BadInput, $"The {what} body is not valid JSON: {ex.Message}");
        }
    }

    private static IResult Asset(string file)
    {
        var type = Path.GetExtension(file) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".svg" => "image/svg+xml",
            _ => null,
        };
        var stream = type is null ? null : typeof(DashboardServer).Assembly.GetManifestResourceStream("dashboard/" + file);
        return stream is null ? Results.NotFound() : Results.Stream(stream, type);
    }
}
