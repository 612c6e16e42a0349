using System.CommandLine;
using Durably.Cli.Dashboard;

namespace Durably.Cli.Commands;

// durably serve: the web dashboard, until Ctrl+C.
internal static class ServeCommand
{
    public static Command Build()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen (separate several with ';'). Port 0 picks a free port; the address is printed. Default: loopback only.", HelpName = "URL", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var tokenFile = new Option<string?>("--token-file") { Description = "JSON file of bearer tokens: {\"tokens\":[{\"token\":\"...\",\"user\":\"maria\",\"actions\":[\"approve\",\"reject\",\"signal\",\"resolve\"]}]}. Without it the dashboard is read-only.", HelpName = "FILE" };
        var poll = new Option<int>("--poll-interval") { Description = "Milliseconds between checks of the store for changes pushed to open pages.", HelpName = "MS", DefaultValueFactory = _ => 1000 };
        var maxLive = new Option<int>("--max-live-clients") { Description = "How many pages (or other clients) may receive live updates at once; more get 503 with Retry-After until one closes.", HelpName = "N", DefaultValueFactory = _ => LiveUpdates.DefaultMaxClients };
        var command = new Command("serve", $"""
            Serve the web dashboard: runs with status and workflow filters, run timelines (steps, durations, tokens, retries,
            in-doubt markers, waits), pending approvals with approve and reject buttons, live updates (server-sent events).
            Every change (approve, reject, signal, resolve) needs a bearer token from --token-file that allows it; the token's
            user is recorded in the journal as the decision's sender. Reading is open on loopback and needs a token otherwise.
            The token file must be private to its owner (chmod 600); 'durably tokens add' creates it so.
            Limits: request bodies up to {DashboardServer.MaxRequestBodyBytes / 1024} KiB (413 beyond), --max-live-clients live-update streams (503 beyond), headers
            within {DashboardServer.RequestHeadersTimeout.TotalSeconds:0} s, idle connections closed after {DashboardServer.KeepAliveTimeout.TotalSeconds:0} s, and a live-update client that stops reading is dropped after {LiveUpdates.WriteTimeout.TotalSeconds:0} s.
            """) { urls, tokenFile, poll, maxLive };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var tokens = context.Get(tokenFile) is { } path ? TokenFile.Load(path) : TokenFile.None;
            var interval = context.Get(poll);
            if (interval < 50)
            {
                throw new CliException(ExitCodes.BadInput, $"--poll-interval is {interval} ms; give 50 or more.");
            }

            var maxLiveClients = context.Get(maxLive);
            if (maxLiveClients < 1)
            {
                throw new CliException(ExitCodes.BadInput, $"--max-live-clients is {maxLiveClients}; give 1 or more.");
            }

            var listen = context.Get(urls)!;
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var storeLabel = context.Get(GlobalOptions.Store)!;
            await using var app = DashboardServer.Create(new DurableClient(store), storeLabel, tokens, listen, TimeSpan.FromMilliseconds(interval), maxLiveClients);
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException ex)
            {
                throw new CliException(ExitCodes.Failed, $"The dashboard cannot listen on {listen}: {ex.Message} Choose another --urls (port 0 picks a free one).");
            }

            context.Out.WriteLine($"Durably dashboard: {string.Join(" ", app.Urls)}  (store {storeLabel})");
            if (tokens.Count == 0)
            {
                context.Out.WriteLine("No --token-file: the dashboard is read-only.");
            }

            if (!DashboardServer.IsLoopbackOnly(listen))
            {
                context.Out.WriteLine("Listening beyond loopback: every request needs a bearer token, and the traffic is not encrypted; put it behind HTTPS.");
            }

            context.Out.WriteLine("Press Ctrl+C to stop.");
            await context.Out.FlushAsync(cancellationToken);
            // Ctrl+C reaches the command line's token; SIGTERM may reach ASP.NET Core's console lifetime first, which stops the app.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }

            await app.StopAsync(CancellationToken.None);
            return ExitCodes.Ok;
        });
        return command;
    }
}
