// A workflow in a native AOT executable over a real SQLite journal. The application's own types go through a source-generated
// JsonSerializerContext (AppJson), given to the codec; the runtime's own payloads need nothing.
//
//   dotnet publish samples/AotAgent -c Release -r linux-x64 -o out/aot && out/aot/AotAgent aot-agent.db
using System.Text.Json;
using System.Text.Json.Serialization;
using Durably;
using Durably.Codecs;
using Durably.Sqlite;
using Durably.Storage;

var path = args.Length > 0 ? args[0] : "aot-agent.db";
var codec = new JsonPayloadCodec(new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = AppJson.Default });
await using var store = await SqliteJournalStore.OpenAsync(path);
await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions { Codec = codec, PollInterval = TimeSpan.FromMilliseconds(50) });
runtime.Register<Order, Receipt>("checkout", async (ctx, order) =>
{
    var priced = await ctx.StepAsync("price", _ => Task.FromResult(order with { Amount = order.Amount * 2 }));
    var decision = await ctx.WaitForApprovalAsync("ship");
    return new Receipt($"{priced.Customer}: {priced.Amount}", decision.Approved, decision.Approver);
});
await runtime.StartAsync();

var run = await runtime.Client.StartAsync("checkout", new Order("ada", 21));
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
while ((await run.GetStatusAsync(timeout.Token)).Status != RunStatus.Suspended)
{
    await Task.Delay(20, timeout.Token);
}

await runtime.Client.ApproveAsync(new ApprovalRequest(run.RunId, "ship", "grace"));
var receipt = await run.GetResultAsync<Receipt>(timeout.Token);
var entries = await store.ReadAsync(run.RunId, cancellationToken: timeout.Token);
Console.WriteLine($"{run.RunId}: {receipt.Charge}, approved {receipt.Approved} by {receipt.ApprovedBy}; {entries.Count} entries journaled in {Path.GetFullPath(path)}");

// Runs of earlier invocations are in the file too: the journal outlives the process.
var completed = await store.ListRunsAsync(new RunQuery { Statuses = [RunStatus.Completed], PageSize = 1000 }, timeout.Token);
Console.WriteLine($"{completed.Runs.Count} completed runs in the journal");

internal sealed record Order(string Customer, int Amount);

internal sealed record Receipt(string Charge, bool Approved, string? ApprovedBy);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Order))]
[JsonSerializable(typeof(Receipt))]
internal sealed partial class AppJson : JsonSerializerContext;
