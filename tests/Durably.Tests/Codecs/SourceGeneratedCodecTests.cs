using System.Text.Json;
using System.Text.Json.Serialization;
using Durably.Codecs;
using Durably.Storage;

namespace Durably.Tests.Codecs;

// JsonPayloadCodec over a source-generated JsonSerializerContext, as a trimmed or native AOT application configures it: the
// application's types come from its context, the runtime's own payloads (approvals, child reports) resolve without being
// listed, and an unlisted type fails with a message that says what to add.
public sealed partial class SourceGeneratedCodecTests
{
    private static readonly JsonPayloadCodec Codec = new(new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = CheckoutJsonContext.Default });

    [Fact]
    public async Task Runtime_CodecWithOnlyTheApplicationsContext_RunsStepsApprovalsAndChildRuns()
    {
        await using var store = new InMemoryJournalStore();
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "aot", Codec = Codec, PollInterval = TimeSpan.FromMilliseconds(20) });
        runtime.Register<Order, string>("charge", (ctx, order) => ctx.StepAsync("charge-card", _ => Task.FromResult($"charged {order.Amount} to {order.Customer}")));
        runtime.Register<Order, Receipt>("checkout", async (ctx, order) =>
        {
            var priced = await ctx.StepAsync("price", _ => Task.FromResult(order with { Amount = order.Amount * 2 }));
            var decision = await ctx.WaitForApprovalAsync("ship");
            var charged = await ctx.RunChildAsync<Order, string>("charge", priced);
            return new Receipt(charged, decision.Approved, decision.Approver);
        });
        await runtime.StartAsync();

        var run = await runtime.Client.StartAsync("checkout", new Order("ada", 21));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await run.GetStatusAsync()).Status != RunStatus.Suspended)
        {
            await Task.Delay(20, timeout.Token);
        }

        await runtime.Client.ApproveAsync(new ApprovalRequest(run.RunId, "ship", "grace"));

        Assert.Equal(new Receipt("charged 42 to ada", true, "grace"), await run.GetResultAsync<Receipt>(timeout.Token));
    }

    [Fact]
    public async Task Runtime_CodecWithOnlyTheApplicationsContext_CancelsWithAReasonAndRecordsTimes()
    {
        await using var store = new InMemoryJournalStore();
        await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { WorkerId = "aot", Codec = Codec, PollInterval = TimeSpan.FromMilliseconds(20) });
        runtime.Register<Order, string>("wait", async (ctx, order) =>
        {
            _ = ctx.UtcNow;
            return (await ctx.WaitForSignalAsync<Order>("never")).Customer;
        });
        await runtime.StartAsync();
        var run = await runtime.Client.StartAsync("wait", new Order("ada", 1));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await run.GetStatusAsync()).Status != RunStatus.Suspended)
        {
            await Task.Delay(20, timeout.Token);
        }

        await runtime.Client.CancelAsync(new CancelRequest(run.RunId) { Reason = "customer left" });

        var failed = await Assert.ThrowsAsync<RunFailedException>(() => run.GetResultAsync<string>(timeout.Token));
        Assert.Equal(RunStatus.Cancelled, failed.Status);
    }

    [Fact]
    public void Encode_TypeMissingFromTheContext_ThrowsNamingTheTypeAndTheFix()
    {
        var error = Assert.Throws<ArgumentException>(() => Codec.Encode(new Unlisted("x")));

        Assert.Contains(typeof(Unlisted).FullName!, error.Message, StringComparison.Ordinal);
        Assert.Contains("[JsonSerializable(typeof(Unlisted))]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_DefaultCodec_WritesTheBytesOfTheWebDefaults()
    {
        var value = new Receipt("charged", true, null);

        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(value, JsonSerializerOptions.Web), JsonPayloadCodec.Default.Encode(value).Data.ToArray());
        Assert.Equal(value, Codec.Decode<Receipt>(JsonPayloadCodec.Default.Encode(value)));
    }

    public sealed record Order(string Customer, int Amount);

    public sealed record Receipt(string Charge, bool Approved, string? ApprovedBy);

    public sealed record Unlisted(string Name);

    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(Order))]
    [JsonSerializable(typeof(Receipt))]
    [JsonSerializable(typeof(string))]
    internal sealed partial class CheckoutJsonContext : JsonSerializerContext;
}
