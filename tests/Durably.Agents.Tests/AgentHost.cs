using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Durably.Cli.Tests;

namespace Durably.Agents.Tests;

// Runs `agent STORE RUN LOG [flags]` of Durably.Agents.TestHost: an Agent Framework agent over a real stdio MCP server.
internal static class AgentHost
{
    public static ChildProcess Start(string store, string runId, string log, params string[] flags)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "Durably.Agents.TestHost.dll"), "agent", store, runId, log, .. flags])
        {
            info.ArgumentList.Add(arg);
        }

        return new ChildProcess(Process.Start(info) ?? throw new InvalidOperationException("Could not start the agent host."));
    }

    // Runs the agent to its end and returns its result line.
    public static async Task<JsonObject> CompleteAsync(string store, string runId, string log, params string[] flags)
    {
        await using var host = Start(store, runId, log, flags);
        var exit = await host.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.True(exit == 0, $"the agent exited {exit}:\n{host.Output}");
        return (JsonObject)JsonNode.Parse((await host.WaitForLineAsync("result "))["result ".Length..])!;
    }

    // Runs the agent until it kills itself (SIGKILL: exit code 137).
    public static async Task CrashAsync(string store, string runId, string log, params string[] flags)
    {
        await using var host = Start(store, runId, log, flags);
        var exit = await host.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.True(exit == 137, $"the agent was to be killed with SIGKILL but exited {exit}:\n{host.Output}");
    }
}

// The MCP server's own record of what it did: one line per call it received (fencing token -1: none was sent).
internal sealed record ServerCall(string Outcome, string Tool, string Key, long FencingToken, string Arguments)
{
    public static IReadOnlyList<ServerCall> Read(string log, string runId)
        => [.. File.ReadAllLines(log)
            .Select(l => l.Split('\t'))
            .Select(f => new ServerCall(f[0], f[1], f[2], long.TryParse(f[3], System.Globalization.CultureInfo.InvariantCulture, out var token) ? token : -1, f[4]))
            .Where(c => c.Key.StartsWith(runId + ":", StringComparison.Ordinal))];
}
