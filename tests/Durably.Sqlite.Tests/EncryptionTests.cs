using System.Security.Cryptography;
using System.Text;
using Durably.Codecs;
using Durably.Storage;

namespace Durably.Sqlite.Tests;

// A secret passed to a tool and returned by it must not reach the disk in clear when payloads are encrypted.
public sealed class EncryptionTests : IDisposable
{
    private const string Secret = "sk-live-7f3a9c41d2e8b6";
    private readonly TempFolder _folder = new();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ToolArgumentAndResult_WithEncryption_NeverInTheDatabaseOrWalFile(bool encrypted)
    {
        var path = _folder.File("journal.db");
        var keys = PayloadKeyRing.Single("2026-01", RandomNumberGenerator.GetBytes(32));
        IPayloadCodec codec = encrypted ? JsonPayloadCodec.Default.WithCompression().WithEncryption(keys) : JsonPayloadCodec.Default;
        var runId = new RunId("secret-run");
        var toolSaw = "";
        string result;
        byte[][] whileOpen;
        await using (var store = await SqliteJournalStore.OpenAsync(path))
        {
            await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { Codec = codec, PollInterval = TimeSpan.FromMilliseconds(50) });
            runtime.Register<ToolCall, string>("agent", async (ctx, call) =>
            {
                var reply = await ctx.StepAsync("call-tool", _ =>
                {
                    toolSaw = call.ApiKey;
                    return Task.FromResult($"tool used {call.ApiKey}");
                }, StepOptions.IdempotentEffect with { Arguments = call });
                var approval = await ctx.WaitForSignalAsync<string>("confirm");
                return $"{reply}; {approval}";
            });
            await runtime.StartAsync();
            await runtime.Client.StartAsync("agent", new ToolCall("search", Secret), new StartRunOptions { RunId = runId });
            await WaitForAsync(async () => (await store.GetRunAsync(runId))?.Status == RunStatus.Suspended);
            await runtime.Client.SignalAsync(runId, "confirm", $"confirmed with {Secret}");
            result = await runtime.Client.GetResultAsync<string>(runId, new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
            whileOpen = ReadFiles(path);
        }

        Assert.Equal(Secret, toolSaw);
        Assert.Equal($"tool used {Secret}; confirmed with {Secret}", result);
        Assert.True(whileOpen[0].Length + whileOpen[1].Length > 0);
        var afterClose = ReadFiles(path);
        var found = whileOpen.Concat(afterClose).Any(bytes => Contains(bytes, Secret));

        // Without encryption the same check finds the secret: it looks in the right places.
        Assert.Equal(!encrypted, found);
    }

    private static byte[][] ReadFiles(string path)
        => [.. new[] { path, path + "-wal", path + "-shm", path + "-journal" }.Select(f => File.Exists(f) ? ReadShared(f) : [])];

    private static byte[] ReadShared(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static bool Contains(byte[] haystack, string text)
        => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0 || haystack.AsSpan().IndexOf(Encoding.Unicode.GetBytes(text)) >= 0;

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }

    public void Dispose() => _folder.Dispose();

    public sealed record ToolCall(string Query, string ApiKey);
}
