using Durably.Sqlite;
using Durably.Testing;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

// The journal on a real SQLite file: a run that made model and tool calls is unloaded, the file is closed, and a new
// runtime over the reopened file replays them from disk.
public sealed class SqliteReplayTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-ai-tests", Guid.NewGuid().ToString("N"));

    public SqliteReplayTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Replay_ReopenedSqliteJournal_ReturnsJournaledResponsesAndToolResults()
    {
        var path = Path.Combine(_folder, "journal.db");
        var runId = new RunId("sqlite-ai-run");
        var model = new ScriptedChatClient(
            ScriptedChatClient.CallTools(new FunctionCallContent("call-1", "book", new Dictionary<string, object?> { ["room"] = "Ada", ["hour"] = 14 })),
            ScriptedChatClient.Reply("Room Ada is booked for 14:00."),
            ScriptedChatClient.Reply("Reminder sent."));
        var bookings = 0;
        var book = AIFunctionFactory.Create((string room, int hour) =>
        {
            Interlocked.Increment(ref bookings);
            return new { room, hour, confirmation = "B-77" };
        }, "book").AsDurable(new DurableToolOptions { Idempotent = true });
        var client = new ChatClientBuilder(model).UseFunctionInvocation().UseDurably().Build();
        var texts = new List<string>();
        void Register(DurableRuntime r) => r.Register<string, string>("booking", async (ctx, task) =>
        {
            List<ChatMessage> history = [new(ChatRole.User, task)];
            history.AddMessages(await client.GetResponseAsync(history, new ChatOptions { Tools = [book] }));
            lock (texts)
            {
                texts.Add(AiTest.Json(history));
            }

            // Unloaded here until the signal comes, possibly in another process.
            history.Add(new ChatMessage(ChatRole.User, await ctx.WaitForSignalAsync<string>("follow-up")));
            return (await client.GetResponseAsync(history)).Text;
        });

        await using (var store = await SqliteJournalStore.OpenAsync(path))
        {
            await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "first", PollInterval = TimeSpan.FromMilliseconds(50) });
            var suspended = new Suspended();
            runtime.AddObserver(suspended);
            Register(runtime);
            await runtime.StartAsync();
            await runtime.Client.StartAsync("booking", "Book room Ada at 14.", new StartRunOptions { RunId = runId });
            await suspended.Task.WaitAsync(TimeSpan.FromSeconds(20));
        }

        await using (var store = await SqliteJournalStore.OpenAsync(path))
        {
            await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "second", PollInterval = TimeSpan.FromMilliseconds(50) });
            Register(runtime);
            await runtime.StartAsync();
            await runtime.Client.SignalAsync(runId, "follow-up", "Send me a reminder.");

            Assert.Equal("Reminder sent.", await runtime.Client.GetResultAsync<string>(runId, new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token));
        }

        Assert.Equal(1, bookings);
        Assert.Equal(3, model.CallCount);
        Assert.Equal(2, texts.Count);
        Assert.Equal(texts[0], texts[1]);
        Assert.Contains("B-77", texts[1], StringComparison.Ordinal);
    }

    private sealed class Suspended : RunObserver
    {
        private readonly TaskCompletionSource _suspended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Task => _suspended.Task;

        public override void OnRunSuspended(RunId runId, string detail, DateTimeOffset? wakeAt) => _suspended.TrySetResult();
    }
}
