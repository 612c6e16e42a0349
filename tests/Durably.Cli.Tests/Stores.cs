using System.Text.Json;
using Durably.AI;
using Durably.Sqlite;
using Durably.Testing;
using Microsoft.Extensions.AI;
using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Cli.Tests;

// Stores made by real runs of the test workflows, and ways to damage or lock them.
internal static class Stores
{
    public static readonly RunId Done = new("done-1");
    public static readonly RunId Waiting = new("waiting-1");
    public static readonly RunId Chat = new("chat-1");
    public static readonly RunId ChatFork = new("chat-fork-1");

    // "done-1": a research run approved by "ana" and completed; "waiting-1": a research run waiting at gate "publish".
    public static async Task CreateAsync(string path)
    {
        await using var store = await SqliteJournalStore.OpenAsync(path);
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions
        {
            WorkerId = "test-builder",
            PollInterval = TimeSpan.FromMilliseconds(50),
            MaxInMemoryWait = TimeSpan.FromSeconds(1),
        });
        AgentWorkflows.Register(runtime);
        await runtime.StartAsync();
        var done = await runtime.Client.StartAsync(AgentWorkflows.Research, "write-ahead logging", new StartRunOptions { RunId = Done });
        await WaitForAsync(store, Done, r => r.StatusDetail?.Contains("approval:publish", StringComparison.Ordinal) == true);
        await runtime.Client.ApproveAsync(new ApprovalRequest(Done, "publish", "ana") { Comment = "ship it" });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await done.GetResultAsync<string>(timeout.Token);
        await runtime.Client.StartAsync(AgentWorkflows.Research, "group commit", new StartRunOptions { RunId = Waiting });
        await WaitForAsync(store, Waiting, r => r.StatusDetail?.Contains("approval:publish", StringComparison.Ordinal) == true);
        await runtime.StopAsync();
    }

    // "chat-1": a DurableChatClient tool loop with a scripted model: a tool call, a durable tool returning serialized JSON,
    // a reply. "chat-fork-1": its fork with the same requests, every model step a cache hit.
    public static async Task CreateChatAsync(string path)
    {
        await using var store = await SqliteJournalStore.OpenAsync(path);
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "chat-builder", PollInterval = TimeSpan.FromMilliseconds(50) });
        RegisterChat(runtime);
        await runtime.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await (await runtime.Client.StartAsync("chat-agent", "Weather in Lisbon?", new StartRunOptions { RunId = Chat })).GetResultAsync<string>(timeout.Token);
        await (await runtime.Client.ForkAsync(new ForkRequest(Chat, 0) { NewRunId = ChatFork, ReuseModelOutputs = true, DryRun = true })).GetResultAsync<string>(timeout.Token);
        await runtime.StopAsync();
    }

    private static void RegisterChat(DurableRuntime runtime)
    {
        var weather = AIFunctionFactory.Create((string city) => JsonSerializer.Serialize(new { city, forecast = "sunny" }), "get_weather")
            .AsDurable(new DurableToolOptions { Idempotent = true });
        var model = new ScriptedChatClient(call => call.Turn == 0
            ? ScriptedChatClient.CallTools(new FunctionCallContent("call-1", "get_weather", new Dictionary<string, object?> { ["city"] = "Lisbon" }))
            : ScriptedChatClient.Reply("Lisbon is sunny today."));
        var chat = new ChatClientBuilder(model).UseFunctionInvocation().UseDurably().Build();
        runtime.Register<string, string>("chat-agent", async (_, question) =>
            (await chat.GetResponseAsync(question, new ChatOptions { ModelId = "scripted-model", Tools = [weather] })).Text);
    }

    // Polls the store another process writes to until the run's record satisfies the predicate.
    public static async Task<RunRecord> WaitForAsync(string path, RunId runId, Func<RunRecord, bool> predicate, TimeSpan? timeout = null)
    {
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });
        return await WaitForAsync(store, runId, predicate, timeout);
    }

    public static async Task<RunRecord> WaitForAsync(IJournalStore store, RunId runId, Func<RunRecord, bool> predicate, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var run = await store.GetRunAsync(runId);
            if (run is not null && predicate(run))
            {
                return run;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Run {runId} did not get there in time; it is {run?.Status} ({run?.StatusDetail}).");
            await Task.Delay(50);
        }
    }

    public static async Task<RunRecord?> GetAsync(string path, RunId runId)
    {
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false });
        return await store.GetRunAsync(runId);
    }

    // Overwrites the file's last page with garbage, as a torn write or bit rot would leave it.
    public static void Damage(string path)
    {
        SqliteConnection.ClearAllPools();
        const int PageSize = 4096;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = file.Length - PageSize;
        file.Write(Enumerable.Repeat((byte)0x5A, PageSize).ToArray());
    }

    // Holds the file locked the way a process in exclusive locking mode does: nobody else can read or write it.
    public static SqliteConnection Lock(string path)
    {
        var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        holder.Open();
        foreach (var sql in new[] { "PRAGMA locking_mode=EXCLUSIVE", "BEGIN EXCLUSIVE", "INSERT INTO signals(run, name, delivered_at) VALUES(1, 'held', 0)" })
        {
            using var command = holder.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }

        return holder;
    }
}

// One store with real runs, made once for the command tests that only read it.
public sealed class StoreFixture : IAsyncLifetime
{
    private readonly TempFolder _folder = new();

    public string Path => _folder.File("agent.db");

    // A private copy for a test that changes the store or damages it.
    internal string Copy(TempFolder folder, string name = "copy.db")
    {
        var copy = folder.File(name);
        File.Copy(Path, copy);
        return copy;
    }

    public Task InitializeAsync() => Stores.CreateAsync(Path);

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
        return Task.CompletedTask;
    }
}
