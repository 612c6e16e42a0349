using Durably.AI.Tests;

namespace AgentDemo.Tests;

// --llm-url: the demo talks to an OpenAI-compatible endpoint through the real Microsoft.Extensions.AI.OpenAI client.
public sealed class OpenAIEndpointTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-demo-openai", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task RunWithLlmUrl_KilledAfterTheDraft_ResumesWithoutCallingTheModelAgainForReplayedSteps()
    {
        await using var model = new FakeOpenAIServer(Respond);
        string[] common = ["run", "--store", Path.Combine(_folder, "agent.db"), "--run-id", "openai-run", "--llm-url", model.Endpoint.ToString(), "--model", "fake-model", "--timer", "0", "--out", _folder, "--events", "json"];

        var crashed = await DemoProcess.RunAsync(_folder, [.. common, "--crash-at-step", "5"]);
        Assert.NotEqual(0, crashed.ExitCode);
        Assert.Equal(2, model.Requests.Count); // plan, then the draft after the three tool calls

        var resumed = await DemoProcess.RunAsync(_folder, common);
        Assert.True(resumed.ExitCode == 0, resumed.Output + resumed.Errors);
        Assert.Equal(3, model.Requests.Count); // only the summary is new
        Assert.Contains("\"event\":\"run.completed\"", resumed.Output, StringComparison.Ordinal);
        Assert.Contains("Summary from the endpoint", resumed.Output, StringComparison.Ordinal);
    }

    private static FakeCompletion Respond(FakeRequest request)
    {
        var messages = request.Body.GetProperty("messages").EnumerateArray().ToList();
        var system = messages[0].GetProperty("content").ToString();
        if (system.StartsWith("Summarise", StringComparison.Ordinal))
        {
            return new FakeCompletion("Summary from the endpoint.", PromptTokens: 300, CompletionTokens: 20);
        }

        return messages.Any(m => m.GetProperty("role").GetString() == "tool")
            ? new FakeCompletion("Report drafted from three sources.", PromptTokens: 900, CompletionTokens: 200)
            : new FakeCompletion(ToolCalls:
            [
                new FakeToolCall("call_1", "FetchWeather", "{\"city\":\"Lisbon\"}"),
                new FakeToolCall("call_2", "FetchNews", "{\"topic\":\"agents\"}"),
                new FakeToolCall("call_3", "FetchPrices", "{\"symbol\":\"DRBL\"}"),
            ], PromptTokens: 400, CompletionTokens: 60);
    }

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
}
