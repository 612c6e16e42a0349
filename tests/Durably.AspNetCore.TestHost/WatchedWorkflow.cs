using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;

namespace Durably.AspNetCore.TestHost;

// The workflow the live-progress tests watch: compute steps, a streaming model call that trickles its answer out over
// about a second, a wait for the signal "go", and tool steps slow enough for a test to kill the worker among them.
// Its result is the model's whole text, which the progress events must add up to.
public static class WatchedWorkflow
{
    public const string Name = "watched";

    public const int PrepareSteps = 6;

    public const int FinishSteps = 8;

    public static readonly IReadOnlyList<string> Chunks = [.. Enumerable.Range(1, 40).Select(i => $"word{i} ")];

    public static string Text => string.Concat(Chunks);

    public static void Register(DurableRuntime runtime)
    {
        var chat = new ChatClientBuilder(new TrickleChatClient()).UseDurably().Build();
        runtime.Register<int, string>(Name, async (ctx, _) =>
        {
            for (var i = 1; i <= PrepareSteps; i++)
            {
                var n = i;
                await ctx.StepAsync($"prepare-{n}", async step =>
                {
                    await Task.Delay(40, step.CancellationToken);
                    return n * n;
                });
            }

            var text = new StringBuilder();
            await foreach (var update in chat.GetStreamingResponseAsync("Tell the story."))
            {
                text.Append(update.Text);
            }

            var go = await ctx.WaitForSignalAsync<string>("go");
            for (var i = 1; i <= FinishSteps; i++)
            {
                var n = i;
                await ctx.StepAsync($"finish-{n}", async step =>
                {
                    await Task.Delay(250, step.CancellationToken);
                    return $"{go}-{n}";
                }, StepOptions.IdempotentEffect);
            }

            return text.ToString();
        });
    }

    private sealed class TrickleChatClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException("The watched workflow streams.");

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var chunk in Chunks)
            {
                await Task.Delay(25, cancellationToken);
                yield return new ChatResponseUpdate(ChatRole.Assistant, chunk);
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
