using System.Security.Cryptography;
using System.Text;
using Durably.Codecs;
using Durably.Journal;
using Durably.Storage;
using Durably.Tests.Runtime;

namespace Durably.Tests.Codecs;

// The runtime journals everything a codec protects through it: inputs, step results, signal payloads, errors.
public sealed class EncryptedRuntimeTests
{
    private const string Secret = "SECRET-4111-1111-1111-1111";
    private static readonly RunId Id = new("encrypted-run");
    private static readonly IPayloadCodec Encrypted = JsonPayloadCodec.Default.WithCompression().WithEncryption(PayloadKeyRing.Single("k1", RandomNumberGenerator.GetBytes(32)));

    private static void Register(DurableRuntime runtime) => runtime.Register<string, string>("pay", async (ctx, card) =>
    {
        var charged = await ctx.StepAsync("charge", _ => Task.FromResult($"charged {card}"), StepOptions.IdempotentEffect with { Arguments = new { card } });
        string declined;
        try
        {
            await ctx.StepAsync<int>("check", _ => throw new InvalidOperationException($"card {card} declined"));
            declined = "";
        }
        catch (StepFailedException ex)
        {
            declined = ex.ErrorMessage;
        }

        var note = await ctx.WaitForSignalAsync<string>("note");
        return $"{charged}|{declined}|{note}";
    });

    [Fact]
    public async Task Run_WithEncryption_JournalAndInboxHoldNoSecretAndReplayDecodesEverything()
    {
        await using var harness = new RuntimeHarness();
        var first = await harness.StartAsync(Register, o => Encrypt(o));
        await first.Client.StartAsync("pay", Secret, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        await harness.CrashAsync(first);

        // The recovery replays "charge" (its argument hash must match under a codec whose output differs on every
        // call) and "check" (its encrypted error message must decode), then consumes the signal.
        var second = await harness.StartAsync(Register, o => Encrypt(o));
        await second.Client.SignalAsync(Id, "note", $"note {Secret}");

        Assert.Equal($"charged {Secret}|card {Secret} declined|note {Secret}", await second.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        var journal = await harness.Store.ReadAsync(Id);
        var text = string.Join("\n", journal.Select(e => Encoding.UTF8.GetString(JournalSerializer.Serialize(e))));
        Assert.DoesNotContain("4111-1111", text, StringComparison.Ordinal);
        Assert.Contains("aesgcm:k1", text, StringComparison.Ordinal);
        Assert.Contains("(message encoded as 'aesgcm:k1')", journal.OfType<StepFailed>().Single().Error.Message, StringComparison.Ordinal);
        Assert.All(await harness.Store.ReadSignalsAsync(Id), s => Assert.Equal("aesgcm:k1", s.Payload!.Encoding));
    }

    [Fact]
    public async Task RunFailed_WithEncryption_ErrorIsEncryptedInTheJournalAndClearForTheCaller()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<string, int>("boom", (_, card) => throw new InvalidOperationException($"no funds on {card}")), o => Encrypt(o));
        await runtime.Client.StartAsync("boom", Secret, new StartRunOptions { RunId = Id });

        var ex = await Assert.ThrowsAsync<RunFailedException>(() => runtime.Client.GetResultAsync<int>(Id, RuntimeHarness.Timeout));

        Assert.Contains($"no funds on {Secret}", ex.Message, StringComparison.Ordinal);
        var failed = (await harness.Store.ReadAsync(Id)).OfType<RunFailed>().Single();
        Assert.DoesNotContain("4111-1111", Encoding.UTF8.GetString(JournalSerializer.Serialize(failed)), StringComparison.Ordinal);
        Assert.Equal(typeof(InvalidOperationException).FullName, failed.Error.Type);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SignalAsync_TwentyMegabytePayload_ThrowsPayloadTooLargeBeforeAnythingIsWritten(bool encrypted)
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<int, string>("wait", async (ctx, _) => await ctx.WaitForSignalAsync<string>("big")), o => encrypted ? Encrypt(o) : o);
        await runtime.Client.StartAsync("wait", 0, new StartRunOptions { RunId = Id });
        var before = await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);

        // Very compressible: compression must not let it through, the limit is on the value itself.
        var ex = await Assert.ThrowsAsync<PayloadTooLargeException>(() => runtime.Client.SignalAsync(Id, "big", new string('x', 20 * 1024 * 1024)));

        Assert.True(ex.Size > 20_000_000);
        Assert.Empty(await harness.Store.ReadSignalsAsync(Id));
        Assert.Equal(before.NextSequence, (await harness.Store.GetRunAsync(Id))!.NextSequence);
    }

    [Fact]
    public async Task StepResult_WithNulAndLoneSurrogate_NulRoundTripsAndSurrogateFailsTheRunClearly()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<string, string>("text", async (ctx, input) =>
        {
            var nul = await ctx.StepAsync("nul", _ => Task.FromResult(input + "\0tail"));
            Assert.Equal("a\0b\0tail", nul);
            return await ctx.StepAsync("lone", _ => Task.FromResult(nul + "\uD800"));
        }), o => Encrypt(o));
        await runtime.Client.StartAsync("text", "a\0b", new StartRunOptions { RunId = Id });

        var ex = await Assert.ThrowsAsync<RunFailedException>(() => runtime.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));

        Assert.Contains("lone surrogate (U+D800)", ex.Message, StringComparison.Ordinal);
        var nulResult = (await harness.Store.ReadAsync(Id)).OfType<StepCompleted>().First();
        Assert.Equal("a\0b\0tail", Encrypted.Decode<string>(nulResult.Result!));
    }

    private static DurableRuntimeOptions Encrypt(DurableRuntimeOptions o) => new()
    {
        WorkerId = o.WorkerId,
        TimeProvider = o.TimeProvider,
        PollInterval = o.PollInterval,
        DefaultRetry = o.DefaultRetry,
        Codec = Encrypted,
    };
}
