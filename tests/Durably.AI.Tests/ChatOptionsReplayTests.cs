using System.Text;
using Durably.Journal;
using Durably.Storage;
using Durably.Testing;
using Durably.Tests.Runtime;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

// A model step's chat options are part of its request: replay with other options stops like a changed prompt does.
public sealed class ChatOptionsReplayTests
{
    private static readonly RunId Id = new("options-run");

    private static AIFunction Search(string description = "Searches the web.")
        => AIFunctionFactory.Create((string query) => "results for " + query, "search", description).AsDurable(new DurableToolOptions { Idempotent = true });

    // Runs "ask" once with the first options, crashes after its model step, and recovers it with the second options.
    private static async Task<(RunRecord Run, ScriptedChatClient Model, IReadOnlyList<JournalEntry> Journal)> ReplayWithAsync(ChatOptions first, ChatOptions second, DurableChatClientOptions? clientOptions = null)
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(_ => ScriptedChatClient.Reply("ok"));
        var client = new ChatClientBuilder(model).UseDurably(clientOptions).Build();
        var options = first;
        void Register(DurableRuntime r) => r.Register<int, string>("ask", async (ctx, _) =>
        {
            var response = await client.GetResponseAsync("Which tool fits?", options);
            await ctx.StepAsync("after", _ => Task.FromResult(0));
            return response.Text;
        });
        harness.Store.CrashWhen(AiTest.AtStep("after"));
        var crashed = await harness.StartAsync(Register);
        await crashed.Client.StartAsync("ask", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, _ => harness.Store.Crashed);
        await harness.CrashAsync(crashed);

        options = second;
        await harness.StartAsync(Register);
        var run = await harness.WaitForStatusAsync(Id, s => s is RunStatus.Failed or RunStatus.Completed);
        return (run, model, await harness.Store.ReadAsync(Id));
    }

    [Fact]
    public async Task Replay_ModelIdChanged_FailsWithNonDeterminismNamingTheModels()
    {
        var (run, model, journal) = await ReplayWithAsync(new ChatOptions { ModelId = "gpt-4o", Temperature = 0.2f }, new ChatOptions { ModelId = "gpt-4o-mini", Temperature = 0.2f });

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("not deterministic at step 1", run.StatusDetail, StringComparison.Ordinal);
        Assert.Contains("model step 'chat' with chat options model 'gpt-4o'", run.StatusDetail, StringComparison.Ordinal);
        Assert.Contains("the same step with chat options model 'gpt-4o-mini'", run.StatusDetail, StringComparison.Ordinal);
        Assert.DoesNotContain("temperature", run.StatusDetail, StringComparison.Ordinal);
        Assert.Equal(1, model.CallCount);
        // As for any non-determinism, the journal is left as it was, so fixed code can resume the run.
        Assert.DoesNotContain(journal, e => e is RunFailed);
    }

    [Fact]
    public async Task Replay_ToolAddedAndTemperatureChanged_NamesBoth()
    {
        var (run, _, _) = await ReplayWithAsync(
            new ChatOptions { Tools = [Search()], Temperature = 0.2f },
            new ChatOptions { Tools = [Search(), AIFunctionFactory.Create(() => "sent", "send_email").AsDurable()], Temperature = 0.7f });

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("with chat options temperature 0.2, tools [search]", run.StatusDetail, StringComparison.Ordinal);
        Assert.Contains("with chat options temperature 0.7, tools [search, send_email]", run.StatusDetail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_ToolSchemaChanged_NamesTheTool()
    {
        var (run, _, _) = await ReplayWithAsync(
            new ChatOptions { Tools = [Search()] },
            new ChatOptions { Tools = [AIFunctionFactory.Create((string query, int limit) => "results", "search", "Searches the web.").AsDurable()] });

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("tools [search (other description or schema)]", run.StatusDetail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_SameOptionsWithPerCallValuesChanged_Replays()
    {
        // The conversation id is per call (a service-side thread); it does not change the question.
        var (run, model, _) = await ReplayWithAsync(
            new ChatOptions { ModelId = "gpt-4o", Tools = [Search()], ConversationId = "thread-1", StopSequences = ["END"] },
            new ChatOptions { ModelId = "gpt-4o", Tools = [Search()], ConversationId = "thread-2", StopSequences = ["END"] });

        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal(1, model.CallCount);
    }

    [Fact]
    public async Task Replay_OptionsChangedWithVerifyOptionsOff_Replays()
    {
        var (run, model, _) = await ReplayWithAsync(
            new ChatOptions { ModelId = "gpt-4o" },
            new ChatOptions { ModelId = "gpt-4o-mini" },
            new DurableChatClientOptions { VerifyOptions = false });

        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal(1, model.CallCount);
    }

    [Fact]
    public async Task Record_SameOptionsTwice_StoresTheOptionsSummaryOnce()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(_ => ScriptedChatClient.Reply("ok"));
        var client = new ChatClientBuilder(model).UseDurably().Build();
        var options = new ChatOptions { ModelId = "gpt-4o", Tools = [Search()] };
        var runtime = await harness.StartAsync(r => r.Register<int, string>("twice", async (_, _) =>
            (await client.GetResponseAsync("one", options)).Text + (await client.GetResponseAsync("two", options)).Text));

        await (await runtime.Client.StartAsync("twice", 0, new StartRunOptions { RunId = Id })).GetResultAsync<string>(RuntimeHarness.Timeout);

        var results = (await harness.Store.ReadAsync(Id)).OfType<StepCompleted>().Select(c => Encoding.UTF8.GetString(c.Result!.Data.Span)).ToList();
        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Contains("\"v\":2", r, StringComparison.Ordinal));
        Assert.All(results, r => Assert.Contains("\"opt\":", r, StringComparison.Ordinal));
        Assert.Contains("\"opts\":{\"model\":\"gpt-4o\",\"tools\":[\"search:", results[0], StringComparison.Ordinal);
        Assert.DoesNotContain("\"opts\"", results[1], StringComparison.Ordinal);
    }
}
