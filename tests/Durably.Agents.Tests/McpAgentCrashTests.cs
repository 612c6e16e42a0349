using Durably.Cli.Tests;

namespace Durably.Agents.Tests;

// The claim, with real processes: an Agent Framework agent calling tools on a real MCP server is killed with SIGKILL
// at a step boundary or inside a tool call, started again on the same journal, and ends as an uninterrupted run did,
// while the server's own log shows that no tool call was executed twice.
public sealed class McpAgentCrashTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("durably-agents-").FullName;

    private static readonly int[] ModelSteps = [1, 4, 6, 8];

    private static readonly int[] ToolSteps = [2, 3, 5, 7];

    private string Log => Path.Combine(_folder, "server.log");

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
    public async Task RunAsync_KilledAfterEveryStep_ResumesWithTheSameAnswerAndNoMcpCallExecutedTwice()
    {
        var reference = (string)(await AgentHost.CompleteAsync(Db("reference"), "reference", Log))["text"]!;
        AssertEachCallExecutedOnce("reference", duplicates: 0);

        // Steps: 1 model, 2 get_weather, 3 create_ticket, 4 model, 5 send_email, 6 model, 7 create_ticket, 8 model.
        for (var step = 1; step <= 8; step++)
        {
            var runId = $"crash-at-{step}";
            await AgentHost.CrashAsync(Db(runId), runId, Log, "--crash-at-step", step.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(ToolSteps.Count(s => s <= step), ServerCall.Read(Log, runId).Count);

            var resumed = await AgentHost.CompleteAsync(Db(runId), runId, Log);

            Assert.Equal(reference, (string)resumed["text"]!);
            AssertEachCallExecutedOnce(runId, duplicates: 0);
            Assert.Equal(ModelSteps.Count(s => s > step), (int)resumed["model_calls_executed"]!); // only the model turns after the crash
            Assert.Equal(ModelSteps.Count(s => s <= step), (int)resumed["model_calls_replayed"]!);
        }
    }

    [Fact]
    public async Task RunAsync_KilledInsideAnIdempotentMcpCall_RetriesWithTheSameKeyAndTheServerDeduplicates()
    {
        // The server kills the agent after executing its 2nd call (create_ticket, step 3) and before answering it: the
        // effect happened and the journal holds only its intent. create_ticket is annotated idempotent, so the step is
        // retried with the same idempotency key, which the server recognises.
        await AgentHost.CrashAsync(Db("in-call"), "in-call", Log, "--kill-after-call", "2");
        var resumed = await AgentHost.CompleteAsync(Db("in-call"), "in-call", Log);

        Assert.StartsWith("Done. Lisbon: 21 C, clear / ticket T-101 opened: Flight delayed", (string)resumed["text"]!, StringComparison.Ordinal);
        AssertEachCallExecutedOnce("in-call", duplicates: 1);
        var calls = ServerCall.Read(Log, "in-call");
        var retry = Assert.Single(calls, c => c.Outcome == "duplicate");
        Assert.Equal(("create_ticket", "in-call:3"), (retry.Tool, retry.Key));
        Assert.True(retry.FencingToken > calls.First(c => c.Key == "in-call:3").FencingToken, "the retry after the restart carries a higher fencing token");
    }

    [Fact]
    public async Task RunAsync_KilledInsideADestructiveMcpCall_WaitsForAPersonAndDurablyResolveDoneCompletesItWithoutResending()
    {
        // send_email (step 5) is annotated destructive and not idempotent: in doubt after the crash, a person decides.
        var db = Db("doubt");
        await AgentHost.CrashAsync(db, "doubt", Log, "--kill-after-call", "3");
        await using (var waiting = AgentHost.Start(db, "doubt", Log))
        {
            Assert.Contains("in-doubt: step 5 'tool:send_email'", await waiting.WaitForLineAsync("suspended ", TimeSpan.FromSeconds(90)), StringComparison.Ordinal);
        }

        var resolved = await Processes.DurablyAsync("resolve", "doubt", "5", "--done", "\"email to ana@example.com sent (checked in the outbox)\"", "--store", db, "--as", "ana");
        Assert.True(resolved.ExitCode == 0, resolved.ToString());
        var resumed = await AgentHost.CompleteAsync(db, "doubt", Log);

        Assert.Contains("email to ana@example.com sent (checked in the outbox)", (string)resumed["text"]!, StringComparison.Ordinal);
        AssertEachCallExecutedOnce("doubt", duplicates: 0);
    }

    [Fact]
    public async Task RunStreamingAsync_KilledAfterTheSecondModelTurn_ResumesWithTheSameTextAndNoMcpCallExecutedTwice()
    {
        var reference = (string)(await AgentHost.CompleteAsync(Db("stream-reference"), "stream-reference", Log, "--stream"))["text"]!;

        await AgentHost.CrashAsync(Db("stream"), "stream", Log, "--stream", "--crash-at-step", "4");
        var resumed = await AgentHost.CompleteAsync(Db("stream"), "stream", Log, "--stream");

        Assert.Equal(reference, (string)resumed["text"]!);
        Assert.StartsWith("Done. Lisbon", reference, StringComparison.Ordinal);
        AssertEachCallExecutedOnce("stream", duplicates: 0);
    }

    [Fact]
    public async Task ApprovalRequiredMcpTool_WaitsAtAGateWithTheProcessGone_DurablyApproveResumesItAndTheToolRunsOnce()
    {
        var db = Db("approval");
        await using (var waiting = AgentHost.Start(db, "approval", Log, "--approval"))
        {
            Assert.Contains("approval:send_email", await waiting.WaitForLineAsync("suspended ", TimeSpan.FromSeconds(90)), StringComparison.Ordinal);
        }

        // The agent process is gone (killed); the email was not sent.
        Assert.DoesNotContain(ServerCall.Read(Log, "approval"), c => c.Tool == "send_email");

        var approved = await Processes.DurablyAsync("approve", "approval", "send_email", "--store", db, "--as", "ana");
        Assert.True(approved.ExitCode == 0, approved.ToString());
        var resumed = await AgentHost.CompleteAsync(db, "approval", Log, "--approval");

        Assert.Contains("email to ana@example.com sent", (string)resumed["text"]!, StringComparison.Ordinal);
        AssertEachCallExecutedOnce("approval", duplicates: 0);
    }

    [Fact]
    public async Task RunAsync_OnPostgresKilledAfterAToolCall_ResumesAndNoMcpCallExecutedTwice()
    {
        var store = Environment.GetEnvironmentVariable("DURABLY_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("DURABLY_POSTGRES is not set, so there is no PostgreSQL server. Run the tests through scripts/with-postgres.sh.");
        var runId = "pg-" + Guid.NewGuid().ToString("N")[..12];

        await AgentHost.CrashAsync(store, runId, Log, "--crash-at-step", "5");
        var resumed = await AgentHost.CompleteAsync(store, runId, Log);

        Assert.StartsWith("Done. Lisbon: 21 C, clear / ticket T-101 opened: Flight delayed / email to ana@example.com sent", (string)resumed["text"]!, StringComparison.Ordinal);
        AssertEachCallExecutedOnce(runId, duplicates: 0);
        Assert.Equal(2, (int)resumed["model_calls_replayed"]!);
    }

    private string Db(string name) => Path.Combine(_folder, name + ".db");

    private void AssertEachCallExecutedOnce(string runId, int duplicates)
    {
        var calls = ServerCall.Read(Log, runId);
        var executed = calls.Where(c => c.Outcome == "executed").ToList();
        Assert.Equal(
            [("get_weather", "Lisbon"), ("create_ticket", "Flight delayed"), ("send_email", "ana@example.com|We are on it"), ("create_ticket", "Follow up with Ana")],
            executed.Select(c => (c.Tool, c.Arguments)));
        Assert.Equal(executed.Count, executed.Select(c => c.Key).Distinct().Count());
        Assert.Equal(duplicates, calls.Count(c => c.Outcome == "duplicate"));
    }
}
