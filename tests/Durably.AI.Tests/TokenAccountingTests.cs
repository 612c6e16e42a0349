using Durably.Journal;
using Durably.Testing;
using Durably.Tests.Runtime;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

public sealed class TokenAccountingTests
{
    private static readonly RunId Id = new("tokens-run");

    private static ChatResponse Reply(string text, long input, long output)
        => new(new ChatMessage(ChatRole.Assistant, text)) { Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = output } };

    [Fact]
    public async Task GetReportAsync_CrashAfterTwoOfThreeCalls_ReportsSpentAndSavedTokensAndMoney()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(Reply("plan", 1_000, 200), Reply("draft", 3_000, 1_500), Reply("summary", 5_000, 100));
        var client = new ChatClientBuilder(model).UseDurably().Build();
        var prices = new TokenPrices(InputPerMillion: 2.50m, OutputPerMillion: 10m);
        var before = new TokenAccounting(prices);
        var after = new TokenAccounting(prices);
        void Register(DurableRuntime r) => r.Register<int, string>("write", async (ctx, _) =>
        {
            List<ChatMessage> history = [new(ChatRole.User, "Write a report.")];
            for (var i = 0; i < 3; i++)
            {
                history.AddMessages(await client.GetResponseAsync(history));
                history.Add(new ChatMessage(ChatRole.User, "Go on."));
            }

            return history[^2].Text;
        });

        var result = await AiTest.CrashAndRecoverAsync<string, int>(
            harness, Register, "write", 0, Id, a => a.Entries.OfType<StepStarted>().Any(s => s.Step == 3), before, after);

        Assert.Equal("summary", result);
        // The third call's outcome never became durable: the crash lost it, and recovery paid for it again.
        var first = before.GetReport(Id);
        Assert.Equal((2, new TokenUsage(4_000, 1_700), 0), (first.ModelCallsExecuted, first.Spent, first.ModelCallsReplayed));
        Assert.Equal(4, model.CallCount);
        var recovery = await after.GetReportAsync(harness.Store, Id);
        Assert.Equal(2, recovery.ModelCallsReplayed);
        Assert.Equal(new TokenUsage(4_000, 1_700), recovery.Saved);
        Assert.Equal(1, recovery.ModelCallsExecuted);
        Assert.Equal(new TokenUsage(5_000, 100), recovery.Spent);
        Assert.Equal(new TokenUsage(9_000, 1_800), recovery.Journaled);
        Assert.Equal(3, recovery.JournaledModelCalls);
        Assert.Equal(0.0270m, recovery.SavedCost);
        Assert.Equal(0.0135m, recovery.SpentCost);
        Assert.Equal(0.0405m, recovery.JournaledCost);
    }

    [Fact]
    public async Task GetReport_StreamingCall_CountsUsageFromTheStream()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(Reply("streamed words here", 40, 7));
        var client = new ChatClientBuilder(model).UseDurably().Build();
        var accounting = new TokenAccounting();
        var runtime = await harness.StartAsync(r =>
        {
            r.AddObserver(accounting);
            r.Register<int, string>("stream", async (ctx, _) =>
            {
                var text = "";
                await foreach (var update in client.GetStreamingResponseAsync("hi"))
                {
                    text += update.Text;
                }

                return text;
            });
        });

        await (await runtime.Client.StartAsync("stream", 0, new StartRunOptions { RunId = Id })).GetResultAsync<string>(RuntimeHarness.Timeout);

        var report = accounting.GetReport(Id);
        Assert.Equal(new TokenUsage(40, 7), report.Spent);
        Assert.Null(report.SpentCost);
        Assert.Null(report.Journaled);
    }

    [Fact]
    public void TokenPrices_CostOf_PricesInputAndOutputPerMillion()
    {
        var prices = new TokenPrices(3m, 15m, "EUR");

        Assert.Equal(0.0105m, prices.CostOf(new TokenUsage(1_000, 500)));
        Assert.Equal(0m, prices.CostOf(new TokenUsage(0, 0)));
    }

    [Fact]
    public void OnStepCompleted_NonModelOrFailedSteps_AreNotCounted()
    {
        var accounting = new TokenAccounting();

        accounting.OnStepCompleted(Id, new StepInfo(1, StepKind.Compute, "c", 1), TimeSpan.Zero, new TokenUsage(5, 5), failed: false);
        accounting.OnStepCompleted(Id, new StepInfo(2, StepKind.Model, "chat", 1), TimeSpan.Zero, null, failed: true);
        accounting.OnStepReplayed(Id, new StepInfo(3, StepKind.Effect, "tool:x", 1), null);

        var report = accounting.GetReport(Id);
        Assert.Equal((0, 0, 0L), (report.ModelCallsExecuted, report.ModelCallsReplayed, report.Spent.TotalTokens));
    }
}

public sealed class TokenPricesTests
{
    private static readonly TokenPrices Prices = new(InputPerMillion: 2.50m, OutputPerMillion: 10m)
    {
        Models = new Dictionary<string, TokenPrices> { ["gpt-4o-mini"] = new(0.15m, 0.60m), ["gpt-4o-mini-search"] = new(1m, 1m) },
    };

    [Theory]
    [InlineData("gpt-4o-mini", 0.15)]
    [InlineData("GPT-4o-mini-2024-07-18", 0.15)]
    [InlineData("gpt-4o-mini-search-preview", 1)]
    [InlineData("gpt-4o", 2.50)]
    [InlineData(null, 2.50)]
    public void For_ModelId_PicksExactThenLongestPrefixThenDefault(string? model, double input)
        => Assert.Equal((decimal)input, Prices.For(model).InputPerMillion);

    [Fact]
    public void For_ModelPricedInAnotherCurrency_Throws()
    {
        var prices = new TokenPrices(2.50m, 10m) { Models = new Dictionary<string, TokenPrices> { ["mistral"] = new(1m, 1m, "EUR") } };

        var ex = Assert.Throws<InvalidOperationException>(() => prices.CostOf(new TokenUsage(1, 1) { Model = "mistral" }));

        Assert.Contains("in EUR, but this price list is in USD", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetReportAsync_TwoModels_BreaksCostDownPerModel()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(call => new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok"))
        {
            ModelId = call.Options!.ModelId,
            Usage = new UsageDetails { InputTokenCount = 1_000_000, OutputTokenCount = 100_000 },
        });
        var chat = new ChatClientBuilder(model).UseDurably().Build();
        var accounting = new TokenAccounting(Prices);
        var runtime = await harness.StartAsync(r =>
        {
            r.AddObserver(accounting);
            r.Register<int, string>("two-models", async (_, _) =>
                (await chat.GetResponseAsync("plan", new ChatOptions { ModelId = "gpt-4o" })).Text
                + (await chat.GetResponseAsync("draft", new ChatOptions { ModelId = "gpt-4o-mini" })).Text);
        });
        var id = new RunId("two-models");

        await (await runtime.Client.StartAsync("two-models", 0, new StartRunOptions { RunId = id })).GetResultAsync<string>(RuntimeHarness.Timeout);
        var report = await accounting.GetReportAsync(harness.Store, id);

        Assert.Equal(["gpt-4o", "gpt-4o-mini"], report.ByModel.Select(m => m.Model));
        Assert.Equal([3.50m, 0.21m], report.ByModel.Select(m => m.SpentCost));
        Assert.Equal(3.71m, report.SpentCost);
        Assert.Equal(3.71m, report.JournaledCost);
        Assert.Equal(new TokenUsage(2_000_000, 200_000), report.Spent);
    }
}
