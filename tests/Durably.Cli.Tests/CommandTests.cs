using System.Text.Json;
using Durably.Journal;

namespace Durably.Cli.Tests;

// The real tool, run as a child process, against a store made by real runs.
public sealed class CommandTests(StoreFixture fixture) : IClassFixture<StoreFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    private string Store => fixture.Path;

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Help_Root_ExplainsEveryCommandAndTheExitCodes()
    {
        var root = await Processes.DurablyAsync("--help");
        var runs = await Processes.DurablyAsync("runs", "--help");
        var journal = await Processes.DurablyAsync("journal", "--help");

        Assert.Equal(0, root.ExitCode);
        foreach (var command in new[] { "runs", "journal", "signal", "approve", "reject", "resolve", "cancel", "fork", "serve", "tokens", "schedules" })
        {
            Assert.Contains($"\n  {command} ", root.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("Usage:\n  durably [command] [options]", root.Stdout, StringComparison.Ordinal);
        Assert.Contains("Exit codes:", root.Stdout, StringComparison.Ordinal);
        Assert.Contains("7    locked", root.Stdout, StringComparison.Ordinal);
        Assert.All(new[] { "list", "show", "purge" }, c => Assert.Contains($"\n  {c} ", runs.Stdout, StringComparison.Ordinal));
        Assert.All(new[] { "verify", "export" }, c => Assert.Contains($"\n  {c} ", journal.Stdout, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Durably_UnknownCommand_Exits2WithHint()
    {
        var result = await Processes.DurablyAsync("runz", "--store", Store);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("durably --help", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsList_StoreWithRuns_ListsThemWithStatusAndFilters()
    {
        var all = await Processes.DurablyAsync("runs", "list", "--store", Store);
        var suspended = await Processes.DurablyAsync("runs", "list", "--store", Store, "--status", "suspended", "--json");
        var other = await Processes.DurablyAsync("runs", "list", "--store", Store, "--workflow", "no-such-workflow");

        Assert.Equal(0, all.ExitCode);
        Assert.Matches(@"done-1\s+research\s+completed", all.Stdout);
        Assert.Matches(@"waiting-1\s+research\s+suspended\s+\S+ \S+\s+signal: step 4 waits for 'approval:publish'", all.Stdout);
        using var json = JsonDocument.Parse(suspended.Stdout);
        var run = Assert.Single(json.RootElement.GetProperty("runs").EnumerateArray());
        Assert.Equal("waiting-1", run.GetProperty("runId").GetString());
        Assert.Equal("suspended", run.GetProperty("status").GetString());
        Assert.Contains("No runs match.", other.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsShow_CompletedRun_ShowsStepsRetriesTokensAndApprover()
    {
        var text = await Processes.DurablyAsync("runs", "show", "done-1", "--store", Store);
        var json = await Processes.DurablyAsync("runs", "show", "done-1", "--store", Store, "--json");

        Assert.Equal(0, text.ExitCode);
        // The duration column is whatever the step took (ms, or s on a loaded machine): only its place is checked.
        Assert.Matches(@"\n\s*1\s+model\s+plan\s+completed\s+1\s+\S+ m?s\s+1,250/310\s+\d", text.Stdout);
        Assert.Matches(@"\n\s*2\s+effect\s+search-web\s+completed\s+2\s", text.Stdout);
        Assert.Contains("approved by ana (\"ship it\")", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("spent 5,450 in / 2,140 out", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("Result     \"published by ana: ship it\"", text.Stdout, StringComparison.Ordinal);
        using var timeline = JsonDocument.Parse(json.Stdout);
        var steps = timeline.RootElement.GetProperty("steps");
        Assert.Equal(5, steps.GetArrayLength());
        Assert.Equal(2, steps[1].GetProperty("attempts").GetInt32());
        Assert.Equal("503 Service Unavailable", steps[1].GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("ana", steps[3].GetProperty("sender").GetString());
        Assert.Equal("publish", steps[3].GetProperty("approvalGate").GetString());
        Assert.True(steps[3].GetProperty("decision").GetProperty("approved").GetBoolean());
        Assert.Equal(5450, timeline.RootElement.GetProperty("tokensSpent").GetProperty("in").GetInt64());
    }

    [Fact]
    public async Task RunsShow_WaitingRun_ShowsTheWaitAndHowToDecide()
    {
        var result = await Processes.DurablyAsync("runs", "show", "waiting-1", "--store", Store);

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"\n\s*4\s+signal\s+approval:publish\s+waiting\s", result.Stdout);
        Assert.Contains("durably approve|reject waiting-1 publish", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsShow_UnknownRun_Exits3WithMessage()
    {
        var result = await Processes.DurablyAsync("runs", "show", "no-such-run", "--store", Store);
        var json = await Processes.DurablyAsync("runs", "show", "no-such-run", "--store", Store, "--json");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("No run with id 'no-such-run'", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(3, json.ExitCode);
        Assert.Equal(3, JsonDocument.Parse(json.Stderr).RootElement.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task RunsShow_InvalidRunId_Exits4()
    {
        var result = await Processes.DurablyAsync("runs", "show", "../etc/passwd", "--store", Store);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("is not a valid run id", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signal_MalformedJson_Exits4AndDeliversNothing()
    {
        var store = fixture.Copy(_folder);

        var result = await Processes.DurablyAsync("signal", "waiting-1", "nudge", "{\"city\": Oslo}", "--store", store);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("The signal payload is not valid JSON", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("'\"text\"'", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        var show = await Processes.DurablyAsync("runs", "show", "waiting-1", "--store", store, "--json");
        Assert.Equal(0, JsonDocument.Parse(show.Stdout).RootElement.GetProperty("pendingSignals").GetArrayLength());
    }

    [Fact]
    public async Task Signal_WellFormedJson_IsDurableWithSender()
    {
        var store = fixture.Copy(_folder);

        var result = await Processes.DurablyAsync("signal", "waiting-1", "nudge", "{\"city\":\"Oslo\"}", "--as", "bot", "--store", store);

        Assert.Equal(0, result.ExitCode);
        var show = await Processes.DurablyAsync("runs", "show", "waiting-1", "--store", store, "--json");
        var pending = Assert.Single(JsonDocument.Parse(show.Stdout).RootElement.GetProperty("pendingSignals").EnumerateArray());
        Assert.Equal(("nudge", "bot", "Oslo"), (pending.GetProperty("name").GetString(), pending.GetProperty("sender").GetString(), pending.GetProperty("payload").GetProperty("city").GetString()));
    }

    [Theory]
    [InlineData("$cancel")]
    [InlineData("approval:publish")]
    public async Task Signal_ReservedName_Exits4NamesTheCommandToUseAndDeliversNothing(string name)
    {
        var store = fixture.Copy(_folder);

        var result = await Processes.DurablyAsync("signal", "waiting-1", name, "--store", store);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains($"'{name}' is reserved", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("'durably cancel'", result.Stderr, StringComparison.Ordinal);
        var show = await Processes.DurablyAsync("runs", "show", "waiting-1", "--store", store, "--json");
        Assert.Equal(0, JsonDocument.Parse(show.Stdout).RootElement.GetProperty("pendingSignals").GetArrayLength());
    }

    [Fact]
    public async Task Cancel_WaitingRun_IsDurableWithTheReason()
    {
        var store = fixture.Copy(_folder);

        var result = await Processes.DurablyAsync("cancel", "waiting-1", "--reason", "not needed", "--store", store, "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("$cancel", JsonDocument.Parse(result.Stdout).RootElement.GetProperty("name").GetString());
        var show = await Processes.DurablyAsync("runs", "show", "waiting-1", "--store", store, "--json");
        var pending = Assert.Single(JsonDocument.Parse(show.Stdout).RootElement.GetProperty("pendingSignals").EnumerateArray());
        Assert.Equal("$cancel", pending.GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("runs", "list")]
    [InlineData("journal", "verify")]
    [InlineData("approve", "waiting-1", "publish")]
    public async Task Command_StoreDoesNotExist_Exits5AndCreatesNothing(params string[] command)
    {
        var missing = _folder.File("missing.db");

        var result = await Processes.DurablyAsync([.. command, "--store", missing]);

        Assert.Equal(5, result.ExitCode);
        Assert.Contains("does not exist", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(missing));
    }

    [Fact]
    public async Task Command_NoStoreGiven_Exits2()
    {
        var result = await Processes.DurablyAsync("runs", "list");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--store", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgres://durably@localhost:port/durably", "port 'port'")]
    [InlineData("postgresql://durably@localhost/durably?sslmode=sometimes", "sslmode 'sometimes'")]
    [InlineData("Host=localhost;Database=durably;Colour=blue", "colour")]
    public async Task Command_MalformedPostgresConnection_Exits4SayingWhatIsWrong(string store, string complaint)
    {
        var result = await Processes.DurablyAsync("runs", "list", "--store", store);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("PostgreSQL", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(complaint, result.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JournalVerify_SoundStore_Exits0()
    {
        var result = await Processes.DurablyAsync("journal", "verify", "--store", Store);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Checked 2 run(s)", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("No problems found.", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JournalVerify_DamagedStore_Exits6()
    {
        var store = fixture.Copy(_folder);
        Stores.Damage(store);

        var result = await Processes.DurablyAsync("journal", "verify", "--store", store);

        Assert.True(result.ExitCode == 6, result.ToString());
        Assert.Contains("damaged", result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JournalVerify_FileIsNotADatabase_Exits6()
    {
        var store = _folder.File("notes.db");
        await File.WriteAllTextAsync(store, new string('x', 8192));

        var result = await Processes.DurablyAsync("journal", "verify", "--store", store);

        Assert.True(result.ExitCode == 6, result.ToString());
    }

    [Fact]
    public async Task JournalVerify_StoreLockedByAnotherProcess_Exits7()
    {
        var store = fixture.Copy(_folder);
        using var holder = Stores.Lock(store);

        var result = await Processes.DurablyAsync("journal", "verify", "--store", store, "--busy-timeout", "1");

        Assert.True(result.ExitCode == 7, result.ToString());
        Assert.Contains("locked", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JournalExport_Run_WritesOneReadableEntryPerLine()
    {
        var result = await Processes.DurablyAsync("journal", "export", "done-1", "--store", Store);

        Assert.Equal(0, result.ExitCode);
        using var lines = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(result.Stdout));
        var exported = Assert.Single(await JournalExport.ReadAsync(lines));
        Assert.Equal("done-1", exported.RunId.Value);
        var entries = exported.Entries;

        Assert.Equal(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, entries.Count);
        Assert.Equal("research", Assert.IsType<RunStarted>(entries[0]).Workflow);
        Assert.IsType<RunCompleted>(entries[^1]);
        Assert.Equal(Enumerable.Range(0, entries.Count).Select(i => (long)i), entries.Select(e => e.Sequence));
    }

    [Fact]
    public async Task RunsPurge_FinishedRuns_DryRunReportsThenPurgeDeletesOnlyThose()
    {
        var store = fixture.Copy(_folder);

        var dry = await Processes.DurablyAsync("runs", "purge", "--status", "completed", "--older-than", "0s", "--dry-run", "--store", store, "--json");
        var stillThere = await Processes.DurablyAsync("runs", "list", "--store", store);
        var purge = await Processes.DurablyAsync("runs", "purge", "--status", "completed", "--status", "failed", "--older-than", "0s", "--store", store);
        var after = await Processes.DurablyAsync("runs", "list", "--store", store);

        Assert.Equal(0, dry.ExitCode);
        Assert.Equal(["done-1"], JsonDocument.Parse(dry.Stdout).RootElement.GetProperty("runs").EnumerateArray().Select(r => r.GetString()));
        Assert.Contains("done-1", stillThere.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, purge.ExitCode);
        Assert.Contains("Deleted 1 run(s)", purge.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("done-1", after.Stdout, StringComparison.Ordinal);
        Assert.Contains("waiting-1", after.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--status", "suspended", "--older-than", "30d")]
    [InlineData("--status", "completed", "--older-than", "30 days")]
    [InlineData("--status", "done", "--older-than", "30d")]
    public async Task RunsPurge_BadStatusOrAge_Exits4(params string[] options)
    {
        var result = await Processes.DurablyAsync(["runs", "purge", .. options, "--store", Store]);

        Assert.Equal(4, result.ExitCode);
    }

    [Fact]
    public async Task Approve_WrongGate_Exits8AndDeliversNothing()
    {
        var store = fixture.Copy(_folder);

        var result = await Processes.DurablyAsync("approve", "waiting-1", "pubilsh", "--store", store);

        Assert.Equal(8, result.ExitCode);
        Assert.Contains("waits at 'publish', not at 'pubilsh'", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approve_FinishedRun_Exits8()
    {
        var result = await Processes.DurablyAsync("approve", "done-1", "publish", "--store", Store);

        Assert.Equal(8, result.ExitCode);
        Assert.Contains("has finished", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resolve_StepNotInDoubt_Exits8()
    {
        var result = await Processes.DurablyAsync("resolve", "waiting-1", "2", "--retry", "--store", Store);

        Assert.Equal(8, result.ExitCode);
        Assert.Contains("not in doubt", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resolve_NoOrTwoActions_Exits2()
    {
        var none = await Processes.DurablyAsync("resolve", "waiting-1", "2", "--store", Store);
        var two = await Processes.DurablyAsync("resolve", "waiting-1", "2", "--retry", "--abort", "--store", Store);

        Assert.Equal(2, none.ExitCode);
        Assert.Equal(2, two.ExitCode);
        Assert.Contains("exactly one of --done", none.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"tokens\":[{\"token\":\"0123456789abcdef0123\",\"user\":\"maria\",\"actions\":[\"deploy\"]}]}", "unknown action(s) 'deploy'")]
    [InlineData("{\"tokens\":[{\"token\":\"short\",\"user\":\"maria\",\"actions\":[\"approve\"]}]}", "shorter than 16 characters")]
    [InlineData("{\"tokens\": [", "not valid JSON")]
    public async Task Serve_BadTokenFile_Exits4BeforeListening(string content, string message)
    {
        var tokens = _folder.WritePrivate("tokens.json", content);

        var result = await Processes.DurablyAsync("serve", "--store", Store, "--urls", "http://127.0.0.1:0", "--token-file", tokens);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Durably dashboard:", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsShow_ChatRun_ShowsRepliesToolCallsAndReadableToolResults()
    {
        var store = _folder.File("chat.db");
        await Stores.CreateChatAsync(store);

        var text = await Processes.DurablyAsync("runs", "show", "chat-1", "--store", store);
        var json = await Processes.DurablyAsync("runs", "show", "chat-1", "--store", store, "--json");

        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Matches(@"\n\s*1\s+model\s+chat\s+completed\s.*asks for get_weather\(\{""city"":""Lisbon""\}\)", text.Stdout);
        Assert.Matches(@"\n\s*2\s+effect\s+tool:get_weather\s+completed\s.*get_weather\(\{""city"":""Lisbon""\}\) -> \{""city"":""Lisbon"",""forecast"":""sunny""\}", text.Stdout);
        Assert.Matches(@"\n\s*3\s+model\s+chat\s+completed\s.*""Lisbon is sunny today\.""", text.Stdout);
        Assert.DoesNotContain("\\u0022", text.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\"req\"", text.Stdout, StringComparison.Ordinal);
        // --json keeps the exact data: the model step's record and the tool's result as the string it returned.
        var steps = JsonDocument.Parse(json.Stdout).RootElement.GetProperty("steps");
        Assert.Equal(2, steps[0].GetProperty("result").GetProperty("v").GetInt32());
        Assert.Equal("{\"city\":\"Lisbon\",\"forecast\":\"sunny\"}", steps[1].GetProperty("result").GetString());
    }

    [Fact]
    public async Task RunsShow_ForkWithSameRequests_NamesItsCacheHits()
    {
        var store = _folder.File("chat.db");
        await Stores.CreateChatAsync(store);

        var text = await Processes.DurablyAsync("runs", "show", "chat-fork-1", "--store", store);
        var json = await Processes.DurablyAsync("runs", "show", "chat-fork-1", "--store", store, "--json");

        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("Cache hits step(s) 1, 3: the same request as in chat-1", text.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\n\s*1\s+model\s+chat\s+completed\s.*cache hit: answered from chat-1", text.Stdout);
        Assert.Contains("resolved by dry-run:chat-1", text.Stdout, StringComparison.Ordinal);
        Assert.Equal([true, false, true], JsonDocument.Parse(json.Stdout).RootElement.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("cacheHit").GetBoolean()));
    }

    [Fact]
    public async Task Fork_PastTheEndOrExistingId_IsRefused()
    {
        var past = await Processes.DurablyAsync("fork", "done-1", "--at-step", "9", "--store", Store);
        var taken = await Processes.DurablyAsync("fork", "done-1", "--at-step", "2", "--new-id", "waiting-1", "--store", Store);

        Assert.Equal(4, past.ExitCode);
        Assert.Contains("has 5 step(s)", past.Stderr, StringComparison.Ordinal);
        Assert.Equal(8, taken.ExitCode);
    }
}
