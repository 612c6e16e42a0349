using System.Runtime.CompilerServices;

namespace Durably.Tests.Runtime;

// The README's step timeouts example, compiled and run: the region below is the README's code block, line for line, and the
// test fails when the two drift apart.
public sealed class ReadmeStepTimeoutsTests
{
    [Fact]
    public async Task StepTimeoutsExample_HeartbeatingStep_CompletesWithItsChunks()
    {
        await using var harness = new RuntimeHarness();
        var speech = new Speech();
        var worker = await harness.StartAsync(worker =>
        {
            // README step timeouts: begin
            worker.Register<string, string>("transcribe", async (ctx, url) =>
                await ctx.StepAsync("transcribe", async step =>
                {
                    var parts = new List<string>();
                    await foreach (var chunk in speech.TranscribeAsync(url, step.IdempotencyKey, step.CancellationToken))
                    {
                        parts.Add(chunk);
                        step.Heartbeat($"{parts.Count} chunks");   // alive; after this, a 30 s silence means hung
                    }

                    return string.Concat(parts);
                }, StepOptions.IdempotentEffect with
                {
                    StartToCloseTimeout = TimeSpan.FromMinutes(10),   // per attempt; then the retry policy decides
                    HeartbeatTimeout = TimeSpan.FromSeconds(30),      // lease kept 30 s ahead while the step runs
                }));
            // README step timeouts: end
        });
        var run = new RunId("transcribe-1");
        await worker.Client.StartAsync("transcribe", "https://example.test/talk.mp3", new StartRunOptions { RunId = run });

        Assert.Equal("transcribe-1:1 https://example.test/talk.mp3 ", await worker.Client.GetResultAsync<string>(run, RuntimeHarness.Timeout));
    }

    [Fact]
    public void StepTimeoutsExample_IsTheReadmeCodeBlock()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Durably.slnx")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("The repository root (Durably.slnx) is not above the test's folder.");
        }

        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var start = readme.IndexOf("```csharp", readme.IndexOf("## Step timeouts, heartbeats and cancellation", StringComparison.Ordinal), StringComparison.Ordinal) + "```csharp".Length;
        var block = Lines(readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)]);
        var source = File.ReadAllText(Path.Combine(root, "tests", "Durably.Tests", "Runtime", "ReadmeStepTimeoutsTests.cs"));
        var from = source.IndexOf("// README step timeouts: begin", StringComparison.Ordinal) + "// README step timeouts: begin".Length;
        var region = Lines(source[from..source.IndexOf("// README step timeouts: end", from, StringComparison.Ordinal)]);

        Assert.Equal(block, region);
    }

    private static List<string> Lines(string text) => [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];

    private sealed class Speech
    {
        public async IAsyncEnumerable<string> TranscribeAsync(string url, string key, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            foreach (var chunk in new[] { key, " ", url, " " })
            {
                await Task.Yield();
                cancellationToken.ThrowIfCancellationRequested();
                yield return chunk;
            }
        }
    }
}
