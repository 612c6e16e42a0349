using Durably.Journal;
using Durably.Testing;
using Durably.Tests.Runtime;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

public sealed class StreamingTests
{
    private static readonly RunId Id = new("stream-run");

    [Fact]
    public async Task GetStreamingResponseAsync_ReplayAfterCrash_YieldsSameUpdatesWithoutCallingModel()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(ScriptedChatClient.Reply("The quick brown fox jumps over the lazy dog.")) { WordsPerUpdate = 2 };
        var runs = new List<List<string>>();
        var client = new ChatClientBuilder(model).UseDurably().Build();
        void Register(DurableRuntime r) => r.Register<string, string>("stream", async (ctx, prompt) =>
        {
            var updates = new List<string>();
            var text = "";
            await foreach (var update in client.GetStreamingResponseAsync(prompt))
            {
                updates.Add(AiTest.Json(update));
                text += update.Text;
            }

            lock (runs)
            {
                runs.Add(updates);
            }

            await ctx.StepAsync("after", _ => Task.FromResult(0));
            return text;
        });

        var text = await AiTest.CrashAndRecoverAsync<string, string>(harness, Register, "stream", "Say the pangram.", Id, AiTest.AtStep("after"));

        Assert.Equal("The quick brown fox jumps over the lazy dog.", text);
        Assert.Equal(1, model.CallCount);
        Assert.Equal(2, runs.Count);
        Assert.True(runs[0].Count >= 6, $"expected the text in several updates and a usage update, got {runs[0].Count}");
        Assert.Equal(runs[0], runs[1]);
        Assert.Contains(runs[1], u => u.Contains("\"$type\":\"usage\"", StringComparison.Ordinal));
        var model1 = Assert.Single((await harness.Store.ReadAsync(Id)).OfType<StepCompleted>(), c => c.Step == 1);
        Assert.NotNull(model1.Usage);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_UpdatesArriveBeforeStepEnds_EnumerationEndsAfterOutcomeDurable()
    {
        await using var harness = new RuntimeHarness();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var model = new SlowStream(release.Task);

        // Without stream progress, which journals the step's intent with the first text once a stream lasts long enough.
        var client = new ChatClientBuilder(model).UseDurably(new DurableChatClientOptions { JournalStreamProgress = false }).Build();
        var runtime = await harness.StartAsync(r => r.Register<int, string>("live", async (ctx, _) =>
        {
            var text = "";
            await foreach (var update in client.GetStreamingResponseAsync("go"))
            {
                text += update.Text;
                firstSeen.TrySetResult();
            }

            harness.Store.Log("loop ended");
            return text;
        }));

        var handle = await runtime.Client.StartAsync("live", 0, new StartRunOptions { RunId = Id });
        await firstSeen.Task.WaitAsync(RuntimeHarness.Timeout);
        Assert.DoesNotContain(harness.Store.Events, e => e.StartsWith("durable:intent", StringComparison.Ordinal));
        release.SetResult();

        Assert.Equal("first second", await handle.GetResultAsync<string>(RuntimeHarness.Timeout));
        var events = harness.Store.Events;
        Assert.True(events.IndexOf("durable:outcome 1") < events.IndexOf("loop ended"));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_StoppedEarly_JournalsUpdatesSoFarAndReplaysThem()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(ScriptedChatClient.Reply("one two three four five six seven eight")) { WordsPerUpdate = 1 };
        var runs = new List<List<string>>();
        var client = new ChatClientBuilder(model).UseDurably().Build();
        void Register(DurableRuntime r) => r.Register<int, string>("early", async (ctx, _) =>
        {
            var texts = new List<string>();
            await foreach (var update in client.GetStreamingResponseAsync("count"))
            {
                texts.Add(update.Text);
                if (texts.Count == 3)
                {
                    break;
                }
            }

            lock (runs)
            {
                runs.Add(texts);
            }

            await ctx.StepAsync("after", _ => Task.FromResult(0));
            return string.Concat(texts);
        });

        Assert.Equal("one two three ", await AiTest.CrashAndRecoverAsync<string, int>(harness, Register, "early", 0, Id, AiTest.AtStep("after")));

        Assert.Equal(1, model.CallCount);
        Assert.Equal(runs[0], runs[1]);
        Assert.Contains((await harness.Store.ReadAsync(Id)).OfType<StepCompleted>(), c => c.Step == 1);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ThroughFunctionInvocation_ToolsRunOnceAndUpdatesReplay()
    {
        await using var harness = new RuntimeHarness();
        var model = new ScriptedChatClient(
            ScriptedChatClient.CallTools(new FunctionCallContent("call-1", "shout", new Dictionary<string, object?> { ["text"] = "hi" })),
            ScriptedChatClient.Reply("Shouted HI."),
            ScriptedChatClient.Reply("You are welcome."));
        var shouts = 0;
        var shout = AIFunctionFactory.Create((string text) =>
        {
            Interlocked.Increment(ref shouts);
            return text.ToUpperInvariant();
        }, "shout").AsDurable(new DurableToolOptions { Idempotent = true });
        var client = new ChatClientBuilder(model).UseFunctionInvocation().UseDurably().Build();
        var texts = new List<string>();
        void Register(DurableRuntime r) => r.Register<string, string>("stream-tools", async (ctx, prompt) =>
        {
            List<ChatMessage> history = [new(ChatRole.User, prompt)];
            var updates = new List<ChatResponseUpdate>();
            await foreach (var update in client.GetStreamingResponseAsync(history, new ChatOptions { Tools = [shout] }))
            {
                updates.Add(update);
            }

            // The tool loop's streamed tool messages carry fresh ids and times on every execution; replay must not mind.
            history.AddMessages(updates);
            history.Add(new ChatMessage(ChatRole.User, "Thanks."));
            var final = await client.GetResponseAsync(history, new ChatOptions { Tools = [shout] });
            lock (texts)
            {
                texts.Add(final.Text);
            }

            await ctx.StepAsync("after", _ => Task.FromResult(0));
            return final.Text;
        });

        Assert.Equal("You are welcome.", await AiTest.CrashAndRecoverAsync<string, string>(harness, Register, "stream-tools", "Shout hi.", Id, AiTest.AtStep("after")));

        Assert.Equal(1, shouts);
        Assert.Equal(3, model.CallCount);
        Assert.Equal(texts[0], texts[1]);
        Assert.Equal(["chat", "tool:shout", "chat", "chat"], AiTest.Steps(await harness.Store.ReadAsync(Id)).Where(s => s.Name != "after").Select(s => s.Name));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_FailsAfterUpdates_SameUpdatesThenSameErrorOnReplay()
    {
        await using var harness = new RuntimeHarness();
        var model = new BrokenStream(updatesBeforeFailure: 2);
        var client = new ChatClientBuilder(model).UseDurably().Build();
        var runs = new List<string>();
        void Register(DurableRuntime r) => r.Register<int, string>("broken", async (ctx, _) =>
        {
            var text = "";
            try
            {
                await foreach (var update in client.GetStreamingResponseAsync("go"))
                {
                    text += update.Text;
                }
            }
            catch (StepFailedException ex)
            {
                text += " | " + ex.ErrorType + ": " + ex.ErrorMessage;
            }

            lock (runs)
            {
                runs.Add(text);
            }

            await ctx.StepAsync("after", _ => Task.FromResult(0));
            return text;
        });

        var text = await AiTest.CrashAndRecoverAsync<string, int>(harness, Register, "broken", 0, Id, AiTest.AtStep("after"));

        Assert.Equal("part 0 part 1  | System.IO.IOException: connection reset", text);
        Assert.Equal([text, text], runs);
        Assert.Equal(1, model.Calls);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_FailsBeforeFirstUpdate_RetriedPerOptions()
    {
        await using var harness = new RuntimeHarness();
        var model = new BrokenStream(updatesBeforeFailure: 0, failures: 1);
        var client = new ChatClientBuilder(model)
            .UseDurably(new DurableChatClientOptions { Retry = new RetryPolicy { MaxAttempts = 2, InitialDelay = TimeSpan.FromMilliseconds(1), Jitter = 0 } })
            .Build();
        var runtime = await harness.StartAsync(
            r => r.Register<int, string>("retried", async (ctx, _) =>
            {
                var text = "";
                await foreach (var update in client.GetStreamingResponseAsync("go"))
                {
                    text += update.Text;
                }

                return text;
            }),
            o => new DurableRuntimeOptions { WorkerId = o.WorkerId, PollInterval = o.PollInterval, MaxInMemoryWait = TimeSpan.FromSeconds(1) });

        Assert.Equal("part 0 part 1 part 2 ", await (await runtime.Client.StartAsync("retried", 0, new StartRunOptions { RunId = Id })).GetResultAsync<string>(RuntimeHarness.Timeout));
        Assert.Equal(2, model.Calls);
    }

    // Streams three parts, failing after a given number of them on its first calls.
    private sealed class BrokenStream(int updatesBeforeFailure, int failures = int.MaxValue) : IChatClient
    {
        private int _calls;

        public int Calls => _calls;

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var call = Interlocked.Increment(ref _calls);
            for (var i = 0; i < 3; i++)
            {
                if (i == updatesBeforeFailure && call <= failures)
                {
                    throw new IOException("connection reset");
                }

                await Task.Yield();
                yield return new ChatResponseUpdate(ChatRole.Assistant, $"part {i} ");
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    // Streams "first", then waits for the test before streaming " second".
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task GetStreamingResponseAsync_StreamLastingSeveralIntervals_JournalsItsTextAsProgressUnlessTurnedOff(bool journalProgress)
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var model = new ClockedStream(harness.Clock!, [.. Enumerable.Range(1, 10).Select(i => $"w{i} ")], TimeSpan.FromMilliseconds(60));
        var client = new ChatClientBuilder(model).UseDurably(new DurableChatClientOptions { JournalStreamProgress = journalProgress }).Build();
        var runtime = await harness.StartAsync(r => r.Register<int, string>("clocked", async (ctx, _) =>
        {
            var text = "";
            await foreach (var update in client.GetStreamingResponseAsync("go"))
            {
                text += update.Text;
            }

            return text;
        }));

        var handle = await runtime.Client.StartAsync("clocked", 0, new StartRunOptions { RunId = Id });
        var text = await handle.GetResultAsync<string>(RuntimeHarness.Timeout);

        var journal = await harness.Store.ReadAsync(Id);
        var progress = journal.OfType<StepProgress>().ToList();
        if (!journalProgress)
        {
            Assert.Empty(progress);
            return;
        }

        // One entry per interval (about two updates of 60 ms), between the step's intent and its outcome, adding up to the text.
        Assert.Equal(5, progress.Count);
        Assert.Equal(text, string.Concat(progress.Select(p => p.Text)));
        Assert.All(progress, p => Assert.Equal(1, p.Step));
        var intent = journal.OfType<StepStarted>().Single(s => s.Step == 1).Sequence;
        var outcome = journal.OfType<StepCompleted>().Single(c => c.Step == 1).Sequence;
        Assert.All(progress, p => Assert.InRange(p.Sequence, intent + 1, outcome - 1));
    }

    // Streams its chunks, moving the fake clock on before each, as a model that takes that long per chunk would.
    private sealed class ClockedStream(Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, string[] chunks, TimeSpan perChunk) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var chunk in chunks)
            {
                await Task.Yield();
                clock.Advance(perChunk);
                yield return new ChatResponseUpdate(ChatRole.Assistant, chunk);
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private sealed class SlowStream(Task release) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, "first");
            await release;
            yield return new ChatResponseUpdate(ChatRole.Assistant, " second");
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
