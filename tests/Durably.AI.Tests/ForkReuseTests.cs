using System.Text;
using Durably.Journal;
using Durably.Storage;
using Durably.Testing;
using Durably.Tests.Runtime;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

// A fork made to try another prompt or model reuses only the model answers whose request did not change.
public sealed class ForkReuseTests
{
    private static readonly RunId Source = new("fork-ai-source");

    // Plans, drafts from the plan, then summarises: three model calls, each extending the conversation.
    private static void Register(DurableRuntime runtime, IChatClient chat, string system, string model) => runtime.Register<string, string>("writer", async (ctx, topic) =>
    {
        var options = new ChatOptions { ModelId = model, Temperature = 0.2f };
        List<ChatMessage> history = [new(ChatRole.System, system), new(ChatRole.User, "Plan a report on " + topic)];
        history.AddMessages(await chat.GetResponseAsync(history, options));
        history.Add(new ChatMessage(ChatRole.User, "Draft it."));
        history.AddMessages(await chat.GetResponseAsync(history, options));
        history.Add(new ChatMessage(ChatRole.User, "Summarise it."));
        history.AddMessages(await chat.GetResponseAsync(history, options));
        return string.Join(" / ", history.Where(m => m.Role == ChatRole.Assistant).Select(m => m.Text));
    });

    // Answers with the turn and the system prompt's first word, so an answer shows which request it was made for.
    private static ScriptedChatClient Model() => new(call =>
    {
        var system = call.Messages[0].Text.Split(' ')[0];
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, $"{system}-{call.Turn}")) { Usage = new UsageDetails { InputTokenCount = 100, OutputTokenCount = 10 } };
    });

    private static async Task<(RuntimeHarness Harness, string Result)> SourceRunAsync(ScriptedChatClient model)
    {
        var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => Register(r, new ChatClientBuilder(model).UseDurably().Build(), "Formal tone.", "gpt-4o"));
        var result = await (await runtime.Client.StartAsync("writer", "journals", new StartRunOptions { RunId = Source })).GetResultAsync<string>(RuntimeHarness.Timeout);
        await runtime.DisposeAsync();
        return (harness, result);
    }

    private static async Task<(string Result, RunCostReport Report)> ForkAsync(RuntimeHarness harness, ScriptedChatClient model, string system, string modelId)
    {
        var accounting = new TokenAccounting(new TokenPrices(2.50m, 10m));
        var runtime = await harness.StartAsync(r =>
        {
            Register(r, new ChatClientBuilder(model).UseDurably().Build(), system, modelId);
            r.AddObserver(accounting);
        });
        var fork = await runtime.Client.ForkAsync(new ForkRequest(Source, 0) { ReuseModelOutputs = true });
        var result = await fork.GetResultAsync<string>(RuntimeHarness.Timeout);
        return (result, await accounting.GetReportAsync(harness.Store, fork.RunId));
    }

    [Fact]
    public async Task Fork_UnchangedPrompt_ReusesEveryAnswerWithoutCallingTheModel()
    {
        var model = Model();
        var (harness, original) = await SourceRunAsync(model);
        await using var _ = harness;

        var (result, report) = await ForkAsync(harness, model, "Formal tone.", "gpt-4o");

        Assert.Equal("Formal-0 / Formal-1 / Formal-2", original);
        Assert.Equal(original, result);
        Assert.Equal(3, model.CallCount);
        Assert.Equal([1, 2, 3], report.CacheHits);
        Assert.Equal(new TokenUsage(300, 30), report.CacheHitTokens);
        Assert.Equal((0, 3, 0), (report.ModelCallsExecuted, report.ModelCallsReplayed, report.JournaledModelCalls));
        Assert.Equal(0m, report.JournaledCost);
    }

    [Fact]
    public async Task Fork_ChangedPrompt_SendsEveryChangedRequestToTheModel()
    {
        var model = Model();
        var (harness, _) = await SourceRunAsync(model);
        await using var __ = harness;

        var (result, report) = await ForkAsync(harness, model, "Casual tone.", "gpt-4o");

        // The system prompt is in every request: no old answer comes back.
        Assert.Equal("Casual-0 / Casual-1 / Casual-2", result);
        Assert.Equal(6, model.CallCount);
        Assert.Empty(report.CacheHits!);
        Assert.Equal((3, 0, 3), (report.ModelCallsExecuted, report.ModelCallsReplayed, report.JournaledModelCalls));
    }

    [Fact]
    public async Task Fork_ChangedModel_SendsTheRequestsToTheModel()
    {
        var model = Model();
        var (harness, _) = await SourceRunAsync(model);
        await using var __ = harness;

        var (_, report) = await ForkAsync(harness, model, "Formal tone.", "gpt-4o-mini");

        Assert.Equal(6, model.CallCount);
        Assert.Empty(report.CacheHits!);
        Assert.All(model.Calls.Skip(3), c => Assert.Equal("gpt-4o-mini", c.Options!.ModelId));
    }

    [Fact]
    public async Task Fork_SourceJournaledBeforeOptionsWereRecorded_IsNeverACacheHit()
    {
        // The golden version-1 journal records no chat options, so a fork cannot know the requests were the same.
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Golden", "model-journal-v1.jsonl"));
        var entries = lines.Select(l => JournalSerializer.Deserialize(Encoding.UTF8.GetBytes(l))).ToList();
        await using var harness = new RuntimeHarness();
        var source = new RunId("golden-ai-run");
        await harness.Store.AppendAsync([new RunAppend(source, 0, entries) { Status = RunStatus.Running }]);
        var model = new ScriptedChatClient(_ => ScriptedChatClient.Reply("fresh answer"));
        var weather = GoldenModelJournalTests.Weather(_ => throw new InvalidOperationException("not asked for"));
        var runtime = await harness.StartAsync(r => GoldenModelJournalTests.Register(r, GoldenModelJournalTests.Pipeline(model), weather));

        var fork = await runtime.Client.ForkAsync(new ForkRequest(source, 0) { ReuseModelOutputs = true });

        Assert.Equal("fresh answer | fresh answer", await fork.GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Equal(2, model.CallCount);
        Assert.DoesNotContain((await harness.Store.ReadAsync(fork.RunId)).OfType<StepCompleted>(), c => c.IsForkCacheHit);
    }

    [Fact]
    public async Task Fork_CacheHits_ShowInTheTimelineAndSpendNoTokens()
    {
        var model = Model();
        var (harness, _) = await SourceRunAsync(model);
        await using var __ = harness;
        var runtime = await harness.StartAsync(r => Register(r, new ChatClientBuilder(model).UseDurably().Build(), "Formal tone.", "gpt-4o"));

        var fork = await runtime.Client.ForkAsync(new ForkRequest(Source, 0) { ReuseModelOutputs = true });
        await fork.GetResultAsync<string>(RuntimeHarness.Timeout);
        var timeline = await runtime.Client.GetTimelineAsync(fork.RunId);

        Assert.All(timeline.Steps, s => Assert.True(s.CacheHit));
        Assert.Equal(new TokenUsage(0, 0), timeline.TokensSpent);
        Assert.Equal(new TokenUsage(300, 30), timeline.TokensSaved);
    }
}
