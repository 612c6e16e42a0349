using System.Diagnostics;
using System.Text.Json.Nodes;
using Durably.AI.Tests;

namespace AgentFrameworkDemo.Tests;

// The sample end to end, as a user runs it: real processes killed with SIGKILL, a real MCP server over stdio, a real
// SQLite journal; the model is the built-in script or a local OpenAI-compatible server reached through the OpenAI client.
public sealed class DemoTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("durably-afd-").FullName;

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
    public async Task Story_KillsTheAgentAfterTheSubAgentsTurnAndResumes_ReportsReplayedExecutedAndSavedWithEachMcpCallOnce()
    {
        var story = await RunAsync("--store", Path.Combine(_folder, "demo.db"));

        Assert.True(story.ExitCode == 0, story.ToString());
        Assert.Contains("[1] killed (exit code 137)", story.Output, StringComparison.Ordinal);
        Assert.Contains("[1] step  5  writer             executed (190 tokens spent)", story.Output, StringComparison.Ordinal);
        Assert.Contains("[2] step  5  writer             replayed from the journal (190 tokens saved)", story.Output, StringComparison.Ordinal);
        Assert.Contains("Process 2 replayed 6 steps from the journal and executed 2.", story.Output, StringComparison.Ordinal);
        Assert.Contains("Model calls: 4 replayed instead of paid for again, 1 made; tokens saved by replay: 2,232", story.Output, StringComparison.Ordinal);
        Assert.Contains("MCP server: 3 tool calls executed (get_order, create_ticket, send_email), 0 duplicates; each idempotency key executed once.", story.Output, StringComparison.Ordinal);
        Assert.Contains("Answer: I'm sorry about the lamp, Ana. ticket T-101 opened", story.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_OverAnOpenAIEndpointKilledInsideTheToolLoop_ResumesWithoutAskingTheModelAgainForJournaledTurns()
    {
        await using var model = new FakeOpenAIServer(Respond);
        var log = Path.Combine(_folder, "desk.log");
        string[] run = ["run", "--store", Path.Combine(_folder, "openai.db"), "--run-id", "openai-1", "--log", log, "--llm-url", model.Endpoint.ToString(), "--model", "fake-model"];

        var crashed = await RunAsync([.. run, "--crash-at-step", "5"]);
        Assert.True(crashed.ExitCode == 137, crashed.ToString());
        Assert.Equal(3, model.Requests.Count); // two support turns and the writer's

        var resumed = await RunAsync(run);

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal(5, model.Requests.Count); // only the two support turns after the crash are new
        var result = JsonNode.Parse(resumed.Output.Split('\n').Single(l => l.StartsWith("result ", StringComparison.Ordinal))["result ".Length..])!;
        Assert.Equal("Ana has her answer.", (string)result["answer"]!);
        Assert.Equal((3, 2), ((int)result["model_calls_replayed"]!, (int)result["model_calls_executed"]!));
        var executed = File.ReadAllLines(log).Where(l => l.StartsWith("executed\t", StringComparison.Ordinal)).Select(l => l.Split('\t')).ToList();
        Assert.Equal(["get_order", "create_ticket", "send_email"], executed.Select(f => f[1]));
        Assert.Equal(3, executed.Select(f => f[2]).Distinct().Count());
        Assert.Contains(model.Requests, r => r.Contains("Dear Ana, from the endpoint.", StringComparison.Ordinal)); // the writer's draft reached the support agent
    }

    // The OpenAI-protocol model: the writer (told by its instructions) drafts; the support agent calls tools turn by turn.
    private static FakeCompletion Respond(FakeRequest request)
    {
        if (request.Body.GetProperty("messages").ToString().Contains("You write short, kind replies", StringComparison.Ordinal))
        {
            return new FakeCompletion("Dear Ana, from the endpoint.", PromptTokens: 150, CompletionTokens: 40);
        }

        return request.Turn switch
        {
            0 => new FakeCompletion(ToolCalls: [new FakeToolCall("c1", "get_order", "{\"order\":\"A-17\"}"), new FakeToolCall("c2", "create_ticket", "{\"title\":\"A-17 broken\"}")], PromptTokens: 400, CompletionTokens: 60),
            1 => new FakeCompletion(ToolCalls: [new FakeToolCall("c3", "writer", "{\"query\":\"Apologise to Ana\"}")], PromptTokens: 600, CompletionTokens: 40),
            2 => new FakeCompletion(ToolCalls: [new FakeToolCall("c4", "send_email", "{\"to\":\"ana@example.com\",\"body\":\"Dear Ana\"}")], PromptTokens: 700, CompletionTokens: 50),
            _ => new FakeCompletion("Ana has her answer.", PromptTokens: 800, CompletionTokens: 10),
        };
    }

    private async Task<Exit> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _folder };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AgentFrameworkDemo.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new Exit(process.ExitCode, await output, await errors);
    }

    private sealed record Exit(int ExitCode, string Output, string Errors)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Errors}";
    }
}
