using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Durably.Agents.TestHost;

// A real MCP server over stdio, hosted by the SDK. Every call it executes is appended to a log file (the server's own
// record of its side effects) with the idempotency key from the request's _meta; a call whose key it has executed before
// is answered from that log and logged as a duplicate instead. Optionally it kills its client with SIGKILL right after
// executing a call and before answering it: the effect happened, the client never learns its outcome.
internal static class TicketServer
{
    public static async Task<int> RunAsync(string log, int killClientAfterCall, int clientPid)
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(new SideEffectLog(log, killClientAfterCall, clientPid));
        builder.Services.AddMcpServer().WithStdioServerTransport().WithTools<TicketTools>();
        await builder.Build().RunAsync();
        return 0;
    }
}

[McpServerToolType]
internal sealed class TicketTools(SideEffectLog log)
{
    [McpServerTool(Name = "create_ticket", Idempotent = true), Description("Opens a support ticket and returns its id.")]
    public string CreateTicket(RequestContext<CallToolRequestParams> request, [Description("The ticket's title.")] string title)
        => log.Apply(request, "create_ticket", title, n => $"ticket T-{100 + n} opened: {title}");

    [McpServerTool(Name = "send_email", Destructive = true), Description("Sends an email to a customer.")]
    public string SendEmail(RequestContext<CallToolRequestParams> request, string to, string subject)
        => log.Apply(request, "send_email", $"{to}|{subject}", _ => $"email to {to} sent: {subject}");

    [McpServerTool(Name = "get_weather", ReadOnly = true), Description("The current weather in a city.")]
    public string GetWeather(RequestContext<CallToolRequestParams> request, string city)
        => log.Apply(request, "get_weather", city, _ => $"{city}: 21 C, clear");

    // A server that takes the idempotency key as an argument rather than from _meta.
    [McpServerTool(Name = "issue_refund"), Description("Refunds an order.")]
    public string IssueRefund(RequestContext<CallToolRequestParams> request, string order, [Description("Deduplicates retries.")] string? idempotency_key = null)
        => log.Apply(request, "issue_refund", order, _ => $"refunded {order}", idempotency_key);
}

internal sealed class SideEffectLog(string path, int killClientAfterCall, int clientPid)
{
    private readonly Lock _gate = new();
    private int _executed;

    public string Apply(RequestContext<CallToolRequestParams> request, string tool, string arguments, Func<int, string> effect, string? argumentKey = null)
    {
        var key = argumentKey ?? request.Params?.Meta?["durably/idempotency-key"]?.GetValue<string>() ?? "-";
        var token = request.Params?.Meta?["durably/fencing-token"]?.GetValue<string>() ?? "-";
        lock (_gate)
        {
            var lines = File.Exists(path) ? File.ReadAllLines(path) : [];
            if (key != "-" && lines.Select(l => l.Split('\t')).FirstOrDefault(f => f[0] == "executed" && f[2] == key) is { } earlier)
            {
                Append($"duplicate\t{tool}\t{key}\t{token}\t{arguments}\t{earlier[5]}");
                return earlier[5];
            }

            // Numbered within the run (the key's prefix), so every run of the same agent gets the same answers.
            var run = key.Split(':')[0] + ":";
            var result = effect(1 + lines.Select(l => l.Split('\t')).Count(f => f[0] == "executed" && f[1] == tool && f[2].StartsWith(run, StringComparison.Ordinal)));
            Append($"executed\t{tool}\t{key}\t{token}\t{arguments}\t{result}");
            if (++_executed == killClientAfterCall)
            {
                Process.GetProcessById(clientPid).Kill();
            }

            return result;
        }
    }

    private void Append(string line)
    {
        using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        using var writer = new StreamWriter(file);
        writer.WriteLine(line);
        writer.Flush();
        file.Flush(flushToDisk: true);
    }
}
