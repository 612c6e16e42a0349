using System.ComponentModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentFrameworkDemo;

// The outside world: a support desk served over MCP (stdio) with the SDK's server hosting. Its tools declare MCP
// annotations (read-only, idempotent, destructive), which Durably reads as each tool's in-doubt policy. Every call it
// executes is appended to a log file with the idempotency key Durably sent in the request's _meta; a call whose key it
// has seen is answered from the log instead of executing again.
internal static class SupportDesk
{
    public static async Task<int> ServeAsync(string log)
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(new DeskLog(log));
        builder.Services.AddMcpServer().WithStdioServerTransport().WithTools<DeskTools>();
        await builder.Build().RunAsync();
        return 0;
    }

    // The lines the desk logged, for the story's summary: (outcome, tool, idempotency key).
    public static IReadOnlyList<(string Outcome, string Tool, string Key)> Read(string log)
        => File.Exists(log) ? [.. File.ReadAllLines(log).Select(l => l.Split('\t')).Select(f => (f[0], f[1], f[2]))] : [];
}

[McpServerToolType]
internal sealed class DeskTools(DeskLog log)
{
    [McpServerTool(Name = "get_order", ReadOnly = true), Description("Looks an order up.")]
    public string GetOrder(RequestContext<CallToolRequestParams> request, string order)
        => log.Apply(request, "get_order", () => $"order {order}: a desk lamp, delivered yesterday, customer ana@example.com");

    [McpServerTool(Name = "create_ticket", Idempotent = true), Description("Opens a support ticket and returns its id.")]
    public string CreateTicket(RequestContext<CallToolRequestParams> request, string title)
        => log.Apply(request, "create_ticket", () => $"ticket T-101 opened: {title}");

    [McpServerTool(Name = "send_email", Destructive = true), Description("Emails a customer.")]
    public string SendEmail(RequestContext<CallToolRequestParams> request, string to, string body)
        => log.Apply(request, "send_email", () => $"email sent to {to} ({body.Length} characters)");
}

internal sealed class DeskLog(string path)
{
    private readonly Lock _gate = new();

    public string Apply(RequestContext<CallToolRequestParams> request, string tool, Func<string> effect)
    {
        var key = request.Params?.Meta?["durably/idempotency-key"]?.GetValue<string>() ?? "-";
        lock (_gate)
        {
            if (key != "-" && SupportDesk.Read(path).Any(l => l.Outcome == "executed" && l.Key == key))
            {
                File.AppendAllText(path, $"duplicate\t{tool}\t{key}\n");
                return File.ReadAllLines(path).Select(l => l.Split('\t')).First(f => f[0] == "executed" && f[2] == key)[3];
            }

            var result = effect();
            File.AppendAllText(path, $"executed\t{tool}\t{key}\t{result}\n");
            return result;
        }
    }
}
