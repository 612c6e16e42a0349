using System.ClientModel;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Durably;
using Durably.Agents;
using Durably.AI;
using Durably.Sqlite;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;
using OpenAI;

namespace AgentFrameworkDemo;

// The `run` command: the support agent, run once in this process on the journal given by --store.
//  1 support (model)   2 get_order (MCP)   3 create_ticket (MCP)   4 support (model)   5 writer sub-agent (model)
//  6 support (model)   7 send_email (MCP)  8 support (model): the answer
internal static class SupportAgent
{
    public const string Workflow = "support-agent";

    public static async Task<int> RunAsync(DemoOptions options)
    {
        // The MCP server is this program too, started as a child over stdio. Its tools become durable steps that send
        // their idempotency key in _meta; their MCP annotations (read-only, idempotent) choose their in-doubt policies.
        await using var mcp = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "support-desk",
            Command = "dotnet",
            Arguments = [typeof(SupportAgent).Assembly.Location, "mcp-server", "--log", Path.GetFullPath(options.Log)],
        }));
        var tools = (await mcp.ListToolsAsync()).AsDurable();

        // Two Agent Framework agents. Each chat client journals its model turns (UseDurably), the writer under its own
        // step name; the support agent offers the writer as a tool (AsDurableAIFunction) and is itself made durable.
        var (supportModel, writerModel) = CreateModels(options);
        AIAgent writer = writerModel.AsBuilder().UseDurably(new DurableChatClientOptions { StepName = "writer" }).Build()
            .AsAIAgent(name: "writer", description: "Drafts a short reply to a customer.", instructions: ScriptedModels.WriterInstructions);
        AIAgent support = supportModel.AsBuilder().UseDurably().Build()
            .AsAIAgent(name: "support", instructions: ScriptedModels.SupportInstructions, tools: [.. tools, writer.AsDurableAIFunction()])
            .AsDurable();

        await using var store = await SqliteJournalStore.OpenAsync(options.Store);
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { PollInterval = TimeSpan.FromMilliseconds(100) });
        var accounting = new TokenAccounting(new TokenPrices(InputPerMillion: 2.50m, OutputPerMillion: 10m));
        runtime.AddObserver(accounting);
        runtime.AddObserver(new Printer(options.CrashAtStep));
        runtime.Register<string, string>(Workflow, async (ctx, message) =>
        {
            var session = await support.CreateSessionAsync();
            return (await support.RunAsync(message, session)).Text;
        });

        await runtime.StartAsync();
        var runId = new RunId(options.RunId);
        var handle = await runtime.Client.StartAsync(Workflow, "Hi, my order A-17 arrived broken. Can you help? - Ana", new StartRunOptions { RunId = runId });
        var answer = await handle.GetResultAsync<string>();
        var report = accounting.GetReport(runId);
        Console.WriteLine($"\nanswer: {answer}");
        Console.WriteLine("result " + new JsonObject
        {
            ["answer"] = answer,
            ["model_calls_executed"] = report.ModelCallsExecuted,
            ["model_calls_replayed"] = report.ModelCallsReplayed,
            ["tokens_spent"] = report.Spent.TotalTokens,
            ["tokens_saved"] = report.Saved.TotalTokens,
            ["cost_saved"] = report.SavedCost,
        }.ToJsonString());
        return 0;
    }

    private static (IChatClient Support, IChatClient Writer) CreateModels(DemoOptions options)
    {
        if (options.LlmUrl is null)
        {
            return (ScriptedModels.Support(), ScriptedModels.Writer());
        }

        var key = Environment.GetEnvironmentVariable("OPENAI_API_KEY") ?? "not-needed";
        var client = new OpenAI.Chat.ChatClient(options.Model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(options.LlmUrl) }).AsIChatClient();
        return (client, client);
    }

    // Prints each step as the runtime executes or replays it; --crash-at-step N kills the process with SIGKILL right
    // after step N's outcome is durable (no finally blocks, no flushing: like an OOM kill or a pulled plug).
    private sealed class Printer(int crashAtStep) : RunObserver
    {
        public override void OnStepReplayed(RunId runId, StepInfo step, TokenUsage? usage)
            => Print($"step {step.Step,2}  {step.Name,-18} replayed from the journal{Tokens(usage, "saved")}");

        public override void OnStepCompleted(RunId runId, StepInfo step, TimeSpan duration, TokenUsage? usage, bool failed)
        {
            Print($"step {step.Step,2}  {step.Name,-18} {(failed ? "failed" : "executed")}{Tokens(usage, "spent")}");
            if (step.Step == crashAtStep && !failed)
            {
                Print($"killing the process right after step {step.Step} was journaled (SIGKILL)");
                Process.GetCurrentProcess().Kill();
            }
        }

        private static string Tokens(TokenUsage? usage, string verb) => usage is { TotalTokens: > 0 } u ? $" ({u.TotalTokens:N0} tokens {verb})" : "";

        private static void Print(string line)
        {
            Console.WriteLine(line);
            Console.Out.Flush();
        }
    }
}
