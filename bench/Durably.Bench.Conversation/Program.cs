using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Durably;
using Durably.AI;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;
using Durably.Testing;
using Microsoft.Extensions.AI;

// Journal size of a long agent conversation: each turn the user asks, the model calls a durable search tool, then
// answers; every model round-trip goes through DurableChatClient into a SQLite journal. Runs the conversation once
// with message deduplication (the default) and once storing every request whole (the naive layout), and prints JSON
// lines: one per mode, the growth at each quarter of the conversation, and a summary.
//
//   dotnet run -c Release --project bench/Durably.Bench.Conversation -- [--turns 100] [--dir PATH]
var turns = Option("--turns", 100);
var directory = OptionText("--dir") ?? Path.Combine(Path.GetTempPath(), "durably-bench-conversation", Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(directory);
var json = new JsonSerializerOptions(JsonSerializerOptions.Web) { WriteIndented = false };

// Warm up (JIT, SQLite) so the timings compare the two layouts, not the first run's start-up.
await RunAsync("warmup-deduplicated", new DurableChatClientOptions(), 4, directory);
await RunAsync("warmup-full", new DurableChatClientOptions { DeduplicateMessages = false }, 4, directory);
var deduplicated = await RunAsync("deduplicated", new DurableChatClientOptions(), turns, directory);
var full = await RunAsync("full", new DurableChatClientOptions { DeduplicateMessages = false }, turns, directory);
Print(deduplicated.Line);
Print(full.Line);
foreach (var quarter in new[] { 1, 2, 3, 4 })
{
    var turn = turns * quarter / 4;
    Print(new { bench = "conversation", growth = true, turn, deduplicatedBytes = deduplicated.BytesAfterTurn[turn], fullBytes = full.BytesAfterTurn[turn] });
}

Print(new
{
    bench = "conversation",
    summary = true,
    turns,
    deduplicatedJournalBytes = deduplicated.Line.journalBytes,
    naiveJournalBytes = full.Line.journalBytes,
    naiveRequestBytes = deduplicated.Line.naiveRequestBytes,
    ratio = Math.Round(full.Line.journalBytes / (double)deduplicated.Line.journalBytes, 1),
    deduplicatedGrowthSecondHalf = Math.Round((deduplicated.BytesAfterTurn[turns] - deduplicated.BytesAfterTurn[turns / 2]) / (double)deduplicated.BytesAfterTurn[turns / 2], 2),
    naiveGrowthSecondHalf = Math.Round((full.BytesAfterTurn[turns] - full.BytesAfterTurn[turns / 2]) / (double)full.BytesAfterTurn[turns / 2], 2),
});
if (OptionText("--dir") is null)
{
    Directory.Delete(directory, recursive: true);
}

void Print<T>(T line) => Console.WriteLine(JsonSerializer.Serialize(line, json));

static async Task<(Result Line, long[] BytesAfterTurn)> RunAsync(string mode, DurableChatClientOptions options, int turns, string directory)
{
    var path = Path.Combine(directory, mode + ".db");
    var model = new ScriptedChatClient(call => call.Messages[^1].Role == ChatRole.User
        ? ScriptedChatClient.CallTools(new FunctionCallContent($"call-{call.Turn}", "search", new Dictionary<string, object?> { ["query"] = $"subject {call.Turn / 2}", ["limit"] = 5 }))
        : ScriptedChatClient.Reply(Text.Answer(call.Turn / 2)));
    var search = AIFunctionFactory.Create((string query, int limit) => Text.SearchResults(query, limit), "search", "Searches the archive.")
        .AsDurable(new DurableToolOptions { Idempotent = true });
    var client = new ChatClientBuilder(model).UseFunctionInvocation().UseDurably(options).Build();
    var runId = new RunId("bench-" + mode);
    var stopwatch = Stopwatch.StartNew();
    await using (var store = await SqliteJournalStore.OpenAsync(path))
    {
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "bench" });
        runtime.Register<int, int>("agent", async (ctx, count) =>
        {
            List<ChatMessage> history = [new(ChatRole.System, Text.SystemPrompt)];
            for (var turn = 0; turn < count; turn++)
            {
                history.Add(new ChatMessage(ChatRole.User, Text.Question(turn)));
                history.AddMessages(await client.GetResponseAsync(history, new ChatOptions { Tools = [search] }));
            }

            return history.Count;
        });
        await runtime.StartAsync();
        await (await runtime.Client.StartAsync("agent", turns, new StartRunOptions { RunId = runId })).GetResultAsync<int>();
    }

    var elapsed = stopwatch.Elapsed;
    await using var reopened = await SqliteJournalStore.OpenAsync(path);
    var journal = await reopened.ReadAsync(runId);
    var sizes = journal.Select(e => (long)JournalSerializer.Serialize(e).Length).ToList();
    var models = journal.OfType<StepStarted>().Where(s => s.Kind == StepKind.Model).Select(s => s.Step).ToHashSet();

    // Each turn makes two model calls; a turn's entries end with its second model step's outcome.
    var bytesAfterTurn = new long[turns + 1];
    long total = 0;
    var modelOutcomes = 0;
    for (var i = 0; i < journal.Count; i++)
    {
        total += sizes[i];
        if (journal[i] is StepCompleted completed && models.Contains(completed.Step) && ++modelOutcomes % 2 == 0)
        {
            bytesAfterTurn[modelOutcomes / 2] = total;
        }
    }

    // What the model calls carried: the naive journal stores each request whole.
    var naiveRequestBytes = model.Calls.Sum(c => (long)JsonSerializer.SerializeToUtf8Bytes(c.Messages, Text.Compact).Length);
    var rebuilt = await ModelCallReader.ReadAsync(reopened, runId);
    var exact = rebuilt.Count == model.CallCount && rebuilt.Zip(model.Calls).All(p => Same(p.First.Request, p.Second.Messages));
    var fileBytes = new FileInfo(path).Length + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0);
    return (new Result("conversation", mode, turns, model.CallCount, journal.OfType<StepStarted>().Count(s => s.Kind == StepKind.Effect), journal.Count, total,
        journal.Where((e, i) => e is StepCompleted c && models.Contains(c.Step)).Sum(e => (long)JournalSerializer.Serialize(e).Length),
        fileBytes, naiveRequestBytes, exact, Math.Round(elapsed.TotalMilliseconds)), bytesAfterTurn);
}

static bool Same(IReadOnlyList<ChatMessage>? rebuilt, IReadOnlyList<ChatMessage> sent)
    => rebuilt is not null
       && JsonSerializer.Serialize(rebuilt, Text.Compact) == JsonSerializer.Serialize(sent, Text.Compact);

int Option(string name, int fallback) => OptionText(name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

string? OptionText(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

internal sealed record Result(
    string bench,
    string mode,
    int turns,
    int modelCalls,
    int toolCalls,
    int entries,
    long journalBytes,
    long modelStepBytes,
    long sqliteFileBytes,
    long naiveRequestBytes,
    bool requestsRebuiltExactly,
    double ms);

// Deterministic text of realistic sizes: a 1.5 KB system prompt, questions, search results and answers.
internal static class Text
{
    public static JsonSerializerOptions Compact { get; } = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };

    private static readonly string[] Words = ["archive", "journal", "agent", "replay", "crash", "model", "token", "step", "effect", "durable", "report", "source", "evidence", "summary", "review", "budget"];

    public static string SystemPrompt { get; } = "You are a careful research assistant working for an editorial team. " + Sentence(0, 220);

    public static string Question(int turn) => $"Question {turn}: " + Sentence(turn * 7, 30);

    public static string SearchResults(string query, int limit)
    {
        var results = new StringBuilder();
        for (var i = 0; i < limit; i++)
        {
            results.Append(CultureInfo.InvariantCulture, $"[{i + 1}] {query}: ").Append(Sentence(query.Length + (i * 11), 25)).Append('\n');
        }

        return results.ToString();
    }

    public static string Answer(int turn) => $"Answer {turn}: " + Sentence(turn * 13, 90);

    private static string Sentence(int seed, int words)
        => string.Join(' ', Enumerable.Range(0, words).Select(i => Words[(seed + (i * 5) + (i * i)) % Words.Length])) + ".";
}
