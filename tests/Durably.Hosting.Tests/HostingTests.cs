using System.Diagnostics;
using System.Diagnostics.Metrics;
using Durably.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Durably.Hosting.Tests;

public sealed class HostingTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-hosting-" + Guid.NewGuid().ToString("N"));

    private string StorePath => Path.Combine(_folder, "journal.db");

    private IHost BuildHost(Action<DurablyBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<Greeter>();
        configure(builder.Services.AddDurably(o => new DurableRuntimeOptions { WorkerId = "hosting-test", PollInterval = TimeSpan.FromMilliseconds(50) }).UseSqlite(StorePath));
        return builder.Build();
    }

    [Fact]
    public async Task AddDurably_HostRestarts_RecoversTheWaitingRunAndFinishesIt()
    {
        var runId = new RunId("hosted-run");
        using (var host = BuildHost(d => d.AddWorkflow<GreetingWorkflow, string, string>()))
        {
            await host.StartAsync();
            var runtime = host.Services.GetRequiredService<DurableRuntime>();
            var client = host.Services.GetRequiredService<DurableClient>();
            Assert.Same(runtime.Client, client);

            // The class takes a service in its constructor: the injected client knows it from the registration.
            var run = await client.StartAsync<GreetingWorkflow, string, string>("Ana", new StartRunOptions { RunId = runId });
            Assert.True(run.IsNew);
            await WaitAsync(() => runtime.Store.GetRunAsync(runId), r => r?.Status == RunStatus.Suspended);
            await host.StopAsync();
        }

        using (var host = BuildHost(d => d.AddWorkflow<GreetingWorkflow, string, string>()))
        {
            await host.StartAsync();
            var client = host.Services.GetRequiredService<DurableClient>();
            await client.SignalAsync(new SignalRequest(runId, "title") { Payload = "Dr.", Sender = "front desk" });
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

            Assert.Equal("Hello, Dr. Ana", await client.GetResultAsync<string>(runId, timeout.Token));
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Telemetry_RunAndSteps_EmitSpansAndCountersNamedDurably()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == DurablyTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (spans)
                {
                    spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        long executed = 0;
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DurablyTelemetry.Name && instrument.Name == "durably.steps.executed")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref executed, value));
        meters.Start();

        using var host = BuildHost(d => d.AddWorkflow<int, int>("two-steps", async (ctx, _) =>
            await ctx.StepAsync("a", _ => Task.FromResult(1)) + await ctx.StepAsync("b", _ => Task.FromResult(2))));
        await host.StartAsync();
        var runtime = host.Services.GetRequiredService<DurableRuntime>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var handle = await runtime.Client.StartAsync("two-steps", 0);
        Assert.Equal(3, await handle.GetResultAsync<int>(timeout.Token));
        await host.StopAsync();

        // The listener sees every run in the process (other tests run in parallel): keep this run's spans.
        lock (spans)
        {
            var mine = spans.Where(s => (string?)s.GetTagItem("durably.run_id") == handle.RunId.Value).ToList();
            Assert.Contains(mine, s => s.OperationName == "durably.run" && (string?)s.GetTagItem("durably.workflow") == "two-steps");
            Assert.Equal(["a", "b"], mine.Where(s => s.OperationName == "durably.step").Select(s => (string?)s.GetTagItem("durably.step.name")).Order());
            Assert.All(mine.Where(s => s.OperationName == "durably.step"), s => Assert.Equal(false, s.GetTagItem("durably.replayed")));
        }

        Assert.True(Interlocked.Read(ref executed) >= 2);
    }

    [Fact]
    public void AddDurably_WithoutStore_FailsWithAClearMessage()
    {
        var services = new ServiceCollection();
        services.AddDurably();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<DurableRuntime>());
        Assert.Contains("UseSqlite", ex.Message, StringComparison.Ordinal);
    }

    private static async Task WaitAsync<T>(Func<Task<T>> read, Func<T, bool> until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!until(await read()))
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // A dependency resolved from the container, to show class workflows get DI.
    internal sealed class Greeter
    {
        public string Greet(string title, string name) => $"Hello, {title} {name}";
    }

    internal sealed class GreetingWorkflow(Greeter greeter) : Workflow<string, string>
    {
        public override async Task<string> RunAsync(RunContext context, string input)
        {
            var title = await context.WaitForSignalAsync<string>("title");
            return await context.StepAsync("greet", _ => Task.FromResult(greeter.Greet(title, input)));
        }
    }
}
