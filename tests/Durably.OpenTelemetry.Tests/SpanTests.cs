using System.Diagnostics;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Sqlite.Tests;
using Durably.Testing;
using Microsoft.Extensions.AI;
using OpenTelemetryHost;

namespace Durably.OpenTelemetry.Tests;

// Spans and metrics of the sample's weather agent (chat, execute_tool, chat) as the OpenTelemetry SDK collects them.
public sealed class SpanTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly Telemetry _telemetry = new();

    public void Dispose()
    {
        _telemetry.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task Run_ModelAndToolSteps_SpansFollowTheGenAIConventionsUnderTheRunSpan()
    {
        var model = WeatherAgent.Model();
        ActivityContext? modelCalledIn = null, toolRanIn = null;
        var observed = new ObservingChatClient(model, () => modelCalledIn ??= Activity.Current?.Context);
        var runId = new RunId("live-1");
        string answer;
        await using (var store = await SqliteJournalStore.OpenAsync(_folder.File("journal.db")))
        await using (var runtime = new DurableRuntime(store))
        {
            runtime.Register(WeatherAgent.Name, WeatherAgent.Workflow(observed, city =>
            {
                toolRanIn = Activity.Current?.Context;
                return "sunny";
            }));
            await runtime.StartAsync();
            var run = await runtime.Client.StartAsync(WeatherAgent.Name, "Lisbon", new() { RunId = runId });
            answer = await run.GetResultAsync<string>();
        }

        var spans = _telemetry.Spans(runId);
        var root = Assert.Single(spans, s => s.OperationName == "durably.run");
        var steps = spans.Where(s => s.OperationName == "durably.step").OrderBy(s => (int)s.GetTagItem("durably.step")!).ToArray();
        Assert.Equal("It is sunny in Lisbon.", answer);
        Assert.Equal(WeatherAgent.Name, root.GetTagItem("durably.workflow"));
        Assert.Equal(false, root.GetTagItem("durably.resumed"));
        Assert.Equal(["chat gpt-4o-mini", "execute_tool get_weather", "chat gpt-4o-mini"], steps.Select(s => s.DisplayName));
        Assert.All(steps, s => Assert.Equal(root.SpanId, s.ParentSpanId));
        Assert.All(steps, s => Assert.Equal(root.TraceId, s.TraceId));
        Assert.All(steps, s => Assert.Equal(false, s.GetTagItem("durably.replayed")));

        foreach (var chat in new[] { steps[0], steps[2] })
        {
            Assert.Equal("chat", chat.GetTagItem("gen_ai.operation.name"));
            Assert.Equal("gpt-4o-mini", chat.GetTagItem("gen_ai.request.model"));
            Assert.Equal("gpt-4o-mini-2024-07-18", chat.GetTagItem("gen_ai.response.model"));
            Assert.Equal("scripted", chat.GetTagItem("gen_ai.provider.name"));
            Assert.True((long)chat.GetTagItem("gen_ai.usage.input_tokens")! > 0);
            Assert.True((long)chat.GetTagItem("gen_ai.usage.output_tokens")! > 0);
            Assert.Null(chat.GetTagItem("durably.tokens_saved.input_tokens"));
        }

        var tool = steps[1];
        Assert.Equal("execute_tool", tool.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("get_weather", tool.GetTagItem("gen_ai.tool.name"));
        Assert.Equal("call-1", tool.GetTagItem("gen_ai.tool.call.id"));
        Assert.Null(tool.GetTagItem("gen_ai.usage.input_tokens"));

        // The model provider was called inside the first chat span, the tool's body inside the tool span: an HTTP client's
        // span would nest under the step that made the call.
        Assert.Equal(steps[0].SpanId, modelCalledIn?.SpanId);
        Assert.Equal(tool.SpanId, toolRanIn?.SpanId);

        var usage = await UsageAsync(runId);
        Assert.Equal((long)steps[0].GetTagItem("gen_ai.usage.input_tokens")! + (long)steps[2].GetTagItem("gen_ai.usage.input_tokens")!, usage.Sum(u => u.InputTokens));
        Assert.Equal(usage.Sum(u => u.InputTokens), _telemetry.Sum("durably.tokens.used", ("gen_ai.request.model", "gpt-4o-mini"), ("gen_ai.token.type", "input")));
        Assert.Equal(usage.Sum(u => u.OutputTokens), _telemetry.Sum("durably.tokens.used", ("gen_ai.request.model", "gpt-4o-mini"), ("gen_ai.token.type", "output")));
        Assert.Equal(usage.Sum(u => u.InputTokens), _telemetry.Sum("durably.tokens.used", ("gen_ai.response.model", "gpt-4o-mini-2024-07-18"), ("gen_ai.token.type", "input")));
        Assert.Equal(0, _telemetry.Sum("durably.tokens.saved"));
        Assert.Equal(2, _telemetry.Sum("durably.steps.executed", ("durably.step.kind", "Model")));
        Assert.Equal(1, _telemetry.Sum("durably.steps.executed", ("durably.step.kind", "Effect")));
        Assert.Equal(0, _telemetry.Sum("durably.steps.replayed"));
        Assert.True(_telemetry.HistogramCount("durably.journal.commit.duration") >= 3);
        Assert.Equal(1, _telemetry.HistogramCount("durably.run.duration"));
    }

    [Fact]
    public async Task Replay_AfterTheHostWasKilledMidToolLoop_MarksReplayedSpansAndReportsTheirTokensAsSaved()
    {
        // The sample host, killed with SIGKILL as the second model call begins: the first model call and the tool call are durable.
        var path = _folder.File("journal.db");
        var exit = await SampleProcess.RunAsync("--store", path, "--run-id", "crashed-1", "--crash-at-turn", "1");
        Assert.Equal(137, exit.ExitCode);

        var toolRuns = 0;
        var runId = new RunId("crashed-1");
        string answer;
        await using (var store = await SqliteJournalStore.OpenAsync(path))
        await using (var runtime = new DurableRuntime(store))
        {
            runtime.Register(WeatherAgent.Name, WeatherAgent.Workflow(WeatherAgent.Model(), city =>
            {
                toolRuns++;
                return "sunny";
            }));
            await runtime.StartAsync();   // resumes the unfinished run
            answer = await runtime.Client.GetRun(runId).GetResultAsync<string>();
        }

        var spans = _telemetry.Spans(runId);
        var root = Assert.Single(spans, s => s.OperationName == "durably.run");
        var steps = spans.Where(s => s.OperationName == "durably.step").OrderBy(s => (int)s.GetTagItem("durably.step")!).ToArray();
        var usage = await UsageAsync(runId);
        Assert.Equal("It is sunny, 24 °C in Lisbon.", answer);   // the tool's result from the killed process, replayed
        Assert.Equal(0, toolRuns);
        Assert.Equal(true, root.GetTagItem("durably.resumed"));
        Assert.Equal(["chat gpt-4o-mini", "execute_tool get_weather", "chat gpt-4o-mini"], steps.Select(s => s.DisplayName));
        Assert.All(steps, s => Assert.Equal(root.SpanId, s.ParentSpanId));
        Assert.Equal([true, true, false], steps.Select(s => (bool)s.GetTagItem("durably.replayed")!));

        var replayedChat = steps[0];
        Assert.Equal("chat", replayedChat.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("gpt-4o-mini-2024-07-18", replayedChat.GetTagItem("gen_ai.response.model"));
        Assert.Null(replayedChat.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Null(replayedChat.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(usage[0].InputTokens, replayedChat.GetTagItem("durably.tokens_saved.input_tokens"));
        Assert.Equal(usage[0].OutputTokens, replayedChat.GetTagItem("durably.tokens_saved.output_tokens"));
        Assert.Equal("call-1", steps[1].GetTagItem("gen_ai.tool.call.id"));

        var liveChat = steps[2];
        Assert.Equal(usage[1].InputTokens, liveChat.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(usage[1].OutputTokens, liveChat.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Null(liveChat.GetTagItem("durably.tokens_saved.input_tokens"));

        // Summing gen_ai.usage over the trace gives what this activation spent, not what the killed one spent too.
        Assert.Equal(usage[1].InputTokens, spans.Sum(s => (long?)s.GetTagItem("gen_ai.usage.input_tokens") ?? 0));
        Assert.Equal(usage[0].InputTokens, _telemetry.Sum("durably.tokens.saved", ("gen_ai.request.model", "gpt-4o-mini"), ("gen_ai.token.type", "input")));
        Assert.Equal(usage[0].OutputTokens, _telemetry.Sum("durably.tokens.saved", ("gen_ai.request.model", "gpt-4o-mini"), ("gen_ai.token.type", "output")));
        Assert.Equal(usage[1].InputTokens, _telemetry.Sum("durably.tokens.used", ("gen_ai.token.type", "input")));
        Assert.Equal(2, _telemetry.Sum("durably.steps.replayed"));
        Assert.Equal(1, _telemetry.Sum("durably.steps.executed"));
    }

    [Fact]
    public async Task Run_StreamingModelCall_IsOneChatSpanWithTheStreamsModelAndUsage()
    {
        var runId = new RunId("streaming-1");
        var model = new ScriptedChatClient(ScriptedChatClient.Reply("A streamed answer in several updates.")) { ModelId = "gpt-4o-2024-08-06" };
        var chat = new ChatClientBuilder(model).UseDurably().Build();
        await using (var store = await SqliteJournalStore.OpenAsync(_folder.File("journal.db")))
        await using (var runtime = new DurableRuntime(store))
        {
            runtime.Register<string, string>("stream", async (ctx, question) =>
            {
                var text = new System.Text.StringBuilder();
                await foreach (var update in chat.GetStreamingResponseAsync(question, new ChatOptions { ModelId = "gpt-4o" }))
                {
                    text.Append(update.Text);
                }

                return text.ToString();
            });
            await runtime.StartAsync();
            var run = await runtime.Client.StartAsync("stream", "Why?", new() { RunId = runId });
            Assert.Equal("A streamed answer in several updates.", await run.GetResultAsync<string>());
        }

        var span = Assert.Single(_telemetry.Spans(runId), s => s.OperationName == "durably.step");
        var usage = Assert.Single(await UsageAsync(runId));
        Assert.Equal("chat gpt-4o", span.DisplayName);
        Assert.Equal("gpt-4o", span.GetTagItem("gen_ai.request.model"));
        Assert.Equal("gpt-4o-2024-08-06", span.GetTagItem("gen_ai.response.model"));
        Assert.Equal(usage.InputTokens, span.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(usage.OutputTokens, span.GetTagItem("gen_ai.usage.output_tokens"));
    }

    // The token usage journaled with each model step, in step order.
    private async Task<List<TokenUsage>> UsageAsync(RunId runId)
    {
        await using var store = await SqliteJournalStore.OpenAsync(_folder.File("journal.db"));
        return [.. (await store.ReadAsync(runId)).OfType<StepCompleted>().Where(c => c.Usage is not null).OrderBy(c => c.Step).Select(c => c.Usage!)];
    }
}
