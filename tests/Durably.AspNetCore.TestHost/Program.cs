using Durably;
using Durably.AspNetCore;
using Durably.AspNetCore.TestHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// `worker STORE RUN WORKER`: starts run RUN of the "watched" workflow (or finds it started) and executes it, printing
// "ready WORKER" once its runtime runs, until standard input closes or it is killed.
// `serve STORE`: serves run events at /runs/{runId}/events on 127.0.0.1 (a free port), printing "listening URL".
// STORE is sqlite:PATH or pg:SCHEMA (the server in DURABLY_POSTGRES).
return args switch
{
    ["worker", var store, var runId, var worker] => await WorkerAsync(store, new RunId(runId), worker),
    ["serve", var store] => await ServeAsync(store),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: worker sqlite:PATH|pg:SCHEMA RUN WORKER | serve sqlite:PATH|pg:SCHEMA");
    return 2;
}

static async Task<int> WorkerAsync(string storeName, RunId runId, string worker)
{
    await using var store = await Stores.OpenAsync(storeName);
    await using var runtime = new DurableRuntime(store, new DurableRuntimeOptions
    {
        WorkerId = worker,
        LeaseDuration = TimeSpan.FromSeconds(2),
        PollInterval = TimeSpan.FromMilliseconds(200),
    });
    WatchedWorkflow.Register(runtime);
    await runtime.StartAsync();
    await runtime.Client.StartAsync(WatchedWorkflow.Name, 0, new StartRunOptions { RunId = runId });
    Console.WriteLine($"ready {worker}");
    Console.Out.Flush();
    await Console.In.ReadToEndAsync();
    await runtime.StopAsync();
    return 0;
}

static async Task<int> ServeAsync(string storeName)
{
    await using var store = await Stores.OpenAsync(storeName);
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Services.AddSingleton(new DurableClient(store));
    await using var app = builder.Build();
    app.MapDurablyRunEvents("/runs/{runId}/events", new RunEventStreamOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(500) });
    await app.StartAsync();
    var url = app.Urls.First();
    Console.WriteLine($"listening {url}");
    Console.Out.Flush();
    await Console.In.ReadToEndAsync();
    await app.StopAsync();
    return 0;
}
