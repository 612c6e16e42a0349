using System.Globalization;
using Durably;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using OpenTelemetryHost;

// A Durably host that exports its traces and metrics over OTLP (to OTEL_EXPORTER_OTLP_ENDPOINT, by default
// http://localhost:4317: start a collector, Jaeger or the .NET Aspire dashboard there to see them).
//
//   dotnet run --project samples/OpenTelemetryHost -- [--store PATH] [--run-id ID] [--crash-at-turn N]
//
// --crash-at-turn N kills the process (SIGKILL) as the model's N-th call (from 0) begins; run it again with the same
// --store and --run-id to see the resumed activation: the replayed steps are marked durably.replayed=true and report
// their tokens as durably.tokens_saved.* instead of gen_ai.usage.*.
var store = Option("--store") ?? "otel-sample.db";
var runId = Option("--run-id") ?? "weather-1";
int? crashAtTurn = Option("--crash-at-turn") is { } turn ? int.Parse(turn, CultureInfo.InvariantCulture) : null;

var builder = Host.CreateApplicationBuilder();
builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource => resource.AddService("durably-opentelemetry-sample"))
    .WithTracing(tracing => tracing.AddDurablyInstrumentation().AddOtlpExporter())
    .WithMetrics(metrics => metrics.AddDurablyInstrumentation().AddOtlpExporter());
builder.Services.AddDurably()
    .UseSqlite(store)
    .AddWorkflow(WeatherAgent.Name, WeatherAgent.Workflow(WeatherAgent.Model(crashAtTurn), city => "sunny, 24 °C"));

using var host = builder.Build();
await host.StartAsync();
var client = host.Services.GetRequiredService<DurableClient>();
var run = await client.StartAsync(WeatherAgent.Name, "Lisbon", new() { RunId = new(runId) });
Console.WriteLine(await run.GetResultAsync<string>());
await host.StopAsync();   // flushes the exporters
return 0;

string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
