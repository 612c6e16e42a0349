using Durably.Agents.TestHost;

// mcp-server LOG [KILL_CLIENT_AFTER_CALL CLIENT_PID] | agent STORE RUN LOG [--crash-at-step N] [--kill-after-call N] [--approval] [--stream]
return args switch
{
    ["mcp-server", var log, ..] => await TicketServer.RunAsync(log, args.Length == 4 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0, args.Length == 4 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 0),
    ["agent", var store, var runId, var log, .. var flags] => await SupportAgent.RunAsync(store, runId, log, flags),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: mcp-server LOG [KILL_CLIENT_AFTER_CALL CLIENT_PID] | agent STORE RUN LOG [--crash-at-step N] [--kill-after-call N] [--approval] [--stream]");
    return 2;
}
