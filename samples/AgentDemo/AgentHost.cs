using System.ClientModel;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Durably;
using Durably.AI;
using Durably.Postgres;
using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Extensions.AI;
using OpenAI;

namespace AgentDemo;

// Runs the agent once in this process (the `run` command), or approves a waiting run (the `approve` command).
internal static class AgentHost
{
    public static async Task<int> RunAsync(DemoOptions options)
    {
        await using var server = string.IsNullOrEmpty(options.ToolsUrl) ? ToolServer.Start() : null;
        if (server is not null)
        {
            options.ToolsUrl = server.BaseUrl;
        }

        Crash.AtStep = options.CrashAtStep;
        Crash.InStep = options.CrashInStep;
        var events = new Events(options.JsonEvents);
        await using var store = await OpenStoreAsync(options, create: true);
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = options.Worker, PollInterval = TimeSpan.FromMilliseconds(200) });
        var accounting = new TokenAccounting();
        runtime.AddObserver(events);
        runtime.AddObserver(accounting);
        runtime.AddObserver(new Crash.Observer());
        var runId = new RunId(options.RunId);
        if (options.Approve == "auto")
        {
            runtime.AddObserver(new AutoApprover(runtime));
        }
        else
        {
            runtime.AddObserver(new ApprovalPrompt(options, events));
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        ResearchAgent.Register(runtime, CreateModel(options), http, options);

        await runtime.StartAsync();
        var handle = await runtime.Client.StartAsync(ResearchAgent.Name, options.Topic, new StartRunOptions { RunId = runId });
        var result = await handle.GetResultAsync<string>();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(result)));
        var report = accounting.GetReport(runId);
        events.Write(
            "run.completed",
            new JsonObject
            {
                ["run"] = runId.Value,
                ["sha256"] = hash,
                ["result"] = result,
                ["model_calls_executed"] = report.ModelCallsExecuted,
                ["model_calls_replayed"] = report.ModelCallsReplayed,
                ["tokens_spent"] = report.Spent.TotalTokens,
                ["tokens_saved"] = report.Saved.TotalTokens,
            },
            $"run {runId}: completed (sha256 {hash[..16]}...)\n  tokens spent {report.Spent.TotalTokens:N0}, saved by replay {report.Saved.TotalTokens:N0}\n\n{result}");
        return 0;
    }

    public static async Task<int> ApproveAsync(DemoOptions options)
    {
        await using var store = await OpenStoreAsync(options, create: false);
        var client = new DurableClient(store);
        await client.ApproveAsync(new ApprovalRequest(new RunId(options.RunId), "publish", Environment.UserName) { Comment = "approved from the command line" });
        Console.WriteLine($"approved run {options.RunId} as {Environment.UserName}; the waiting agent resumes within a second");
        return 0;
    }

    // SQLite unless --store names a PostgreSQL server. The agent may create its store (a development demo); approving may not.
    private static async Task<IJournalStore> OpenStoreAsync(DemoOptions options, bool create)
    {
        if (!options.IsPostgres)
        {
            return await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = options.Store, CreateIfMissing = create });
        }

        string connectionString;
        try
        {
            connectionString = PostgresConnectionString.ToNpgsql(options.Store);
        }
        catch (ArgumentException ex)
        {
            throw new DemoUsageException(ex.Message);
        }

        return await PostgresJournalStore.OpenAsync(connectionString, create ? PostgresSchemaMode.CreateOrUpdate : PostgresSchemaMode.Validate);
    }

    private static IChatClient CreateModel(DemoOptions options)
    {
        if (options.LlmUrl is null)
        {
            return ScriptedModel.Create();
        }

        var key = Environment.GetEnvironmentVariable("OPENAI_API_KEY") ?? "not-needed";
        var client = new OpenAI.Chat.ChatClient(options.Model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(options.LlmUrl) });
        return client.AsIChatClient();
    }

    // --approve auto: a pretend reviewer approves as soon as the run waits at the gate.
    private sealed class AutoApprover(DurableRuntime runtime) : RunObserver
    {
        public override void OnRunSuspended(RunId runId, string detail, DateTimeOffset? wakeAt)
        {
            if (detail.Contains("approval:publish", StringComparison.Ordinal))
            {
                _ = runtime.Client.ApproveAsync(new ApprovalRequest(runId, "publish", "reviewer (auto)") { Comment = "approved by --approve auto" });
            }
        }
    }

    // --approve wait: say how to approve from another process.
    private sealed class ApprovalPrompt(DemoOptions options, Events events) : RunObserver
    {
        public override void OnRunSuspended(RunId runId, string detail, DateTimeOffset? wakeAt)
        {
            if (detail.Contains("approval:publish", StringComparison.Ordinal))
            {
                events.Write(
                    "approval.waiting",
                    new JsonObject { ["run"] = runId.Value, ["gate"] = "publish" },
                    $"\nThe run waits for approval and holds no thread meanwhile. Approve it from another terminal:\n  dotnet run --project samples/AgentDemo -- approve --store {options.Store} --run-id {runId}\n  (or: durably approve {runId} publish --store {options.Store})\n");
            }
        }
    }
}
