using Durably.Journal;
using Durably.Testing;
using Durably.Tests.Runtime;
using Microsoft.Extensions.AI;

namespace Durably.AI.Tests;

// Timeouts of model and tool steps, set on the durable client's and the durable tool's options. The claims are logical, so the
// clock is fake.
public sealed class ModelTimeoutTests
{
    private static readonly RunId Id = new("model-timeout-run");
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task GetResponseAsync_CallOutlastsStartToCloseTimeout_IsCancelledAndRetriedPerTheClientsRetryPolicy()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var firstCall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var model = new ScriptedChatClient(async (call, cancellationToken) =>
        {
            if (firstCall.TrySetResult())
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }

            return ScriptedChatClient.Reply("answered on the second call");
        });
        var client = new ChatClientBuilder(model)
            .UseDurably(new DurableChatClientOptions { StartToCloseTimeout = Limit, Retry = new RetryPolicy { MaxAttempts = 2, InitialDelay = TimeSpan.Zero, Jitter = 0 } })
            .Build();
        var runtime = await harness.StartAsync(r => r.Register<string, string>("ask", async (ctx, question) => (await client.GetResponseAsync(question)).Text));
        await runtime.Client.StartAsync("ask", "slow question", new StartRunOptions { RunId = Id });
        await firstCall.Task.WaitAsync(RuntimeHarness.Timeout);

        harness.Clock!.Advance(Limit);

        Assert.Equal("answered on the second call", await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Equal(2, model.CallCount);
        var failed = (await harness.Store.ReadAsync(Id)).OfType<StepFailed>().Single();
        Assert.Equal(typeof(StepTimeoutException).FullName, failed.Error.Type);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_StreamStallsPastHeartbeatTimeout_UpdatesAndTheTimeoutAreTheStepsOutcome()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var model = new StallingStream(updatesBeforeStall: 2);
        var client = new ChatClientBuilder(model).UseDurably(new DurableChatClientOptions { HeartbeatTimeout = Limit }).Build();
        var twoUpdates = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runtime = await harness.StartAsync(r => r.Register<int, string>("stream", async (ctx, _) =>
        {
            var text = "";
            try
            {
                await foreach (var update in client.GetStreamingResponseAsync("go"))
                {
                    text += update.Text;
                    if (text == "part 0 part 1 ")
                    {
                        twoUpdates.TrySetResult();
                    }
                }
            }
            catch (StepFailedException ex)
            {
                text += "| " + ex.ErrorType;
            }

            return text;
        }));
        await runtime.Client.StartAsync("stream", 0, new StartRunOptions { RunId = Id });
        await twoUpdates.Task.WaitAsync(RuntimeHarness.Timeout);

        await harness.AdvanceKeepingTheLeaseAsync(Id, Limit);

        // The caller saw two updates, which a retry could not take back: they and the timeout are journaled as the call's outcome.
        Assert.Equal("part 0 part 1 | " + typeof(StepTimeoutException).FullName, await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Equal(1, model.Calls);
        var journal = await harness.Store.ReadAsync(Id);
        Assert.Empty(journal.OfType<StepFailed>());
        Assert.Contains("did not heartbeat for 00:00:05", System.Text.Encoding.UTF8.GetString(journal.OfType<StepCompleted>().Single().Result!.Data.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DurableTool_StopsHeartbeatingPastItsTimeout_AttemptFailsWithAHeartbeatTimeout()
    {
        await using var harness = new RuntimeHarness(fakeClock: true);
        var heartbeating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tool = AIFunctionFactory.Create(
            async (CancellationToken cancellationToken) =>
            {
                DurableAIFunction.CurrentStep!.Heartbeat("uploading");
                heartbeating.TrySetResult();
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
                return "uploaded";
            },
            "upload").AsDurable(new DurableToolOptions { Idempotent = true, HeartbeatTimeout = Limit, Retry = RetryPolicy.None });
        var runtime = await harness.StartAsync(r => r.Register<int, string>("tool", async (ctx, _) =>
        {
            try
            {
                return (await tool.InvokeAsync(new AIFunctionArguments()))?.ToString() ?? "null";
            }
            catch (StepFailedException ex)
            {
                return ex.ErrorType + ": " + ex.ErrorMessage;
            }
        }));
        await runtime.Client.StartAsync("tool", 0, new StartRunOptions { RunId = Id });
        await heartbeating.Task.WaitAsync(RuntimeHarness.Timeout);

        await harness.AdvanceKeepingTheLeaseAsync(Id, Limit);

        var result = await runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout);
        Assert.StartsWith(typeof(StepTimeoutException).FullName + ": Step 1 'tool:upload' attempt 1 did not heartbeat for 00:00:05", result, StringComparison.Ordinal);
        Assert.EndsWith("Last heartbeat: uploading", result, StringComparison.Ordinal);
    }

    // Streams parts, then stalls (until its token is cancelled) instead of streaming the rest.
    private sealed class StallingStream(int updatesBeforeStall) : IChatClient
    {
        private int _calls;

        public int Calls => _calls;

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            for (var i = 0; i < updatesBeforeStall; i++)
            {
                await Task.Yield();
                yield return new ChatResponseUpdate(ChatRole.Assistant, $"part {i} ");
            }

            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, "never");
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
