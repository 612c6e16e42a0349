using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Durably.AI;
using Durably.Postgres;
using Durably.Sqlite;
using Durably.Storage;
using Durably.Testing;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;

namespace Durably.Agents.TestHost;

// An Agent Framework agent (a ChatClientAgent) whose tools come from the MCP server above, started as this program's
// child over stdio. The model is scripted by the conversation's turn: weather and a ticket, then an email, then a
// follow-up ticket, then the answer. Prints "suspended GATE" when the run waits for approval and "result JSON" at the end.
internal static class SupportAgent
{
    public const string Workflow = "support-agent";

    public static async Task<int> RunAsync(string storeArgument, string runId, string log, string[] flags)
    {
        var crashAtStep = Flag(flags, "--crash-at-step");
        var killAfterCall = Flag(flags, "--kill-after-call");
        var approval = flags.Contains("--approval");
        var stream = flags.Contains("--stream");

        string[] serverArgs = killAfterCall > 0
            ? [typeof(SupportAgent).Assembly.Location, "mcp-server", log, killAfterCall.ToString(CultureInfo.InvariantCulture), Environment.ProcessId.ToString(CultureInfo.InvariantCulture)]
            : [typeof(SupportAgent).Assembly.Location, "mcp-server", log];
        await using var mcp = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions { Name = "tickets", Command = "dotnet", Arguments = serverArgs }));
        var tools = (await mcp.ListToolsAsync()).AsDurable();
        if (approval)
        {
            tools = [.. tools.Select(t => t.Name == "send_email" ? new ApprovalRequiredAIFunction((AIFunction)t) : t)];
        }

        var model = new ScriptedChatClient(Respond) { ModelId = "scripted-support-model" };
        AIAgent agent = model.AsBuilder().UseDurably().Build()
            .AsAIAgent(instructions: "You are a support agent. Use the tools.", name: "support", tools: tools)
            .AsDurable();

        await using var store = await OpenStoreAsync(storeArgument);
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { PollInterval = TimeSpan.FromMilliseconds(100) });
        var accounting = new TokenAccounting();
        runtime.AddObserver(accounting);
        runtime.AddObserver(new Observer(crashAtStep));
        runtime.Register<string, string>(Workflow, async (ctx, question) =>
        {
            var session = await agent.CreateSessionAsync();
            if (!stream)
            {
                return (await agent.RunAsync(question, session)).Text;
            }

            var text = new System.Text.StringBuilder();
            await foreach (var update in agent.RunStreamingAsync(question, session))
            {
                text.Append(update.Text);
            }

            return text.ToString();
        });

        await runtime.StartAsync();
        var handle = await runtime.Client.StartAsync(Workflow, "My flight was delayed, please help.", new StartRunOptions { RunId = new RunId(runId) });
        var result = await handle.GetResultAsync<string>();
        var report = accounting.GetReport(new RunId(runId));
        Console.WriteLine("result " + new JsonObject
        {
            ["text"] = result,
            ["model_calls_executed"] = report.ModelCallsExecuted,
            ["model_calls_replayed"] = report.ModelCallsReplayed,
            ["tokens_saved"] = report.Saved.TotalTokens,
        }.ToJsonString());
        return 0;
    }

    private static ChatResponse Respond(ScriptedChatCall call)
    {
        var results = call.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Select(r => Text(r.Result)).ToList();
        var response = call.Turn switch
        {
            0 => ScriptedChatClient.CallTools(
                new FunctionCallContent("c1", "get_weather", new Dictionary<string, object?> { ["city"] = "Lisbon" }),
                new FunctionCallContent("c2", "create_ticket", new Dictionary<string, object?> { ["title"] = "Flight delayed" })),
            1 => ScriptedChatClient.CallTools(new FunctionCallContent("c3", "send_email", new Dictionary<string, object?> { ["to"] = "ana@example.com", ["subject"] = "We are on it" })),
            2 => ScriptedChatClient.CallTools(new FunctionCallContent("c4", "create_ticket", new Dictionary<string, object?> { ["title"] = "Follow up with Ana" })),
            _ => ScriptedChatClient.Reply("Done. " + string.Join(" / ", results)),
        };
        return response;
    }

    private static string Text(object? result) => result switch
    {
        JsonElement { ValueKind: JsonValueKind.String } s => s.GetString()!,
        null => "(nothing)",
        _ => result.ToString()!,
    };

    private static int Flag(string[] flags, string name)
        => Array.IndexOf(flags, name) is var i and >= 0 ? int.Parse(flags[i + 1], CultureInfo.InvariantCulture) : 0;

    private static async Task<IJournalStore> OpenStoreAsync(string store)
        => store.StartsWith("Host=", StringComparison.Ordinal)
            ? await PostgresJournalStore.OpenAsync(store, PostgresSchemaMode.CreateOrUpdate)
            : await SqliteJournalStore.OpenAsync(store);

    // Kills this process with SIGKILL right after step N's outcome is durable; says when the run waits at a gate.
    private sealed class Observer(int crashAtStep) : RunObserver
    {
        public override void OnStepCompleted(RunId runId, StepInfo step, TimeSpan duration, TokenUsage? usage, bool failed)
        {
            if (step.Step == crashAtStep)
            {
                Console.Out.Flush();
                Process.GetCurrentProcess().Kill();
            }
        }

        public override void OnRunSuspended(RunId runId, string detail, DateTimeOffset? wakeAt)
        {
            Console.WriteLine("suspended " + detail);
            Console.Out.Flush();
        }
    }
}
