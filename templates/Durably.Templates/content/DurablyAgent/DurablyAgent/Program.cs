using Durably;
using DurablyAgent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// The host: the journal store and the runtime options come from the "Durably" section of appsettings.json (checked at
// start). Unfinished runs in agent.db resume at start-up, also after kill -9.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSingleton<INotifier, ConsoleNotifier>();
builder.AddDurably()
       .AddWorkflow<TriageWorkflow, Ticket, string>()
       .AddHealthChecks();
using var host = builder.Build();
await host.StartAsync();

// dotnet run -- "my invoice is wrong": starts a run (its id is the dedupe key: the same text is triaged once) and waits for it.
if (args.Length > 0)
{
    var client = host.Services.GetRequiredService<DurableClient>();
    var text = string.Join(' ', args);
    var run = await client.StartAsync<TriageWorkflow, Ticket, string>(new Ticket("customer", text), new StartRunOptions { RunId = new RunId($"ticket-{(uint)text.GetHashCode(StringComparison.Ordinal):x8}") });
    Console.WriteLine($"{run.RunId}: {await run.GetResultAsync()}");
    await host.StopAsync();
    return;
}

await host.WaitForShutdownAsync();
