using System.CommandLine;
using System.Globalization;
using Durably.Storage;

namespace Durably.Cli.Commands;

// durably queues list | set
internal static class QueuesCommands
{
    public static Command Build()
    {
        var queues = new Command("queues", "List queues with their limits and how many runs are running, queued and held back by a limit; create or change a queue's limits.");
        queues.Add(BuildList());
        queues.Add(BuildSet());
        return queues;
    }

    private static Command BuildList()
    {
        var command = new Command("list", "List the store's queues: limits, runs running (holding a slot), queued (waiting for one), limited now (held back by a limit or a pause), suspended, and first dequeued in the last minute.");
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var queues = await ClientOf(store).ListQueuesAsync(cancellationToken);
            if (context.Json)
            {
                context.WriteJson(new { queues });
                return ExitCodes.Ok;
            }

            if (queues.Count == 0)
            {
                context.Out.WriteLine("No queues. Create one with 'durably queues set NAME --concurrency N'.");
                return ExitCodes.Ok;
            }

            Format.Table(
                context.Out,
                ["QUEUE", "CONCURRENCY", "PER KEY", "PER MINUTE", "TOKENS/MIN", "RUNNING", "QUEUED", "LIMITED", "SUSPENDED", "LAST MINUTE", "TOKENS LAST MIN"],
                queues.Select(q => (IReadOnlyList<string>)
                [
                    q.Definition.Paused ? q.Definition.Name + " (paused)" : q.Definition.Name,
                    Limit(q.Definition.MaxConcurrency),
                    Limit(q.Definition.MaxConcurrencyPerKey),
                    q.Definition.RunsPerMinute is { } rate ? Limit(rate) + (q.Definition.RateLimitPerKey ? " per key" : string.Empty) : "-",
                    q.Definition.TokensPerMinute is { } tokens ? Limit(tokens) + (q.Definition.RateLimitPerKey ? " per key" : string.Empty) : "-",
                    Format.Number(q.Running),
                    Format.Number(q.Queued),
                    Format.Number(q.Limited),
                    Format.Number(q.Suspended),
                    Format.Number(q.DequeuedInWindow),
                    q.Definition.TokensPerMinute is null ? "-" : Format.Number(q.TokensInWindow),
                ]),
                new HashSet<int> { 5, 6, 7, 8, 9, 10 });
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command BuildSet()
    {
        var name = new Argument<string>("NAME") { Description = "The queue's name." };
        var concurrency = new Option<int?>("--concurrency") { Description = "The most runs of the queue running at once, across all workers; 0 holds every run back. None: no limit.", HelpName = "N" };
        var perKey = new Option<int?>("--per-key") { Description = "The most runs of one partition key (tenant, user) running at once. None: no limit.", HelpName = "N" };
        var perMinute = new Option<int?>("--per-minute") { Description = "The most runs first dequeued in any sliding 60 seconds. None: no limit.", HelpName = "N" };
        var tokensPerMinute = new Option<long?>("--tokens-per-minute") { Description = "The most model tokens the queue's runs may use in any sliding 60 seconds: while they are used up, no run is dequeued (running ones go on). None: no limit.", HelpName = "N" };
        var ratePerKey = new Option<bool>("--rate-per-key") { Description = "Apply --per-minute and --tokens-per-minute to each partition key instead of the whole queue." };
        var paused = new Option<bool>("--paused") { Description = "Dequeue nothing until the queue is set again without --paused (running runs go on)." };
        var command = new Command("set", "Create a queue or replace its limits (every option not given is no limit). Workers read the limits at each claim: the change applies at once, to queued runs too.") { name, concurrency, perKey, perMinute, tokensPerMinute, ratePerKey, paused };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var definition = new QueueDefinition(context.Get(name)!.Trim())
            {
                MaxConcurrency = context.Get(concurrency),
                MaxConcurrencyPerKey = context.Get(perKey),
                RunsPerMinute = context.Get(perMinute),
                TokensPerMinute = context.Get(tokensPerMinute),
                RateLimitPerKey = context.Get(ratePerKey),
                Paused = context.Get(paused),
            };
            try
            {
                definition.Validate();
            }
            catch (ArgumentException ex)
            {
                throw new CliException(ExitCodes.BadInput, ex.Message.Split(" (Parameter", 2)[0]);
            }

            if (definition.RateLimitPerKey && definition.RunsPerMinute is null && definition.TokensPerMinute is null)
            {
                throw new CliException(ExitCodes.BadInput, "--rate-per-key needs --per-minute or --tokens-per-minute: give the rate each key may use.");
            }

            await using var store = await context.OpenStoreAsync(cancellationToken);
            await ClientOf(store).ConfigureQueueAsync(definition, cancellationToken);
            if (context.Json)
            {
                context.WriteJson(new { queue = definition });
            }
            else
            {
                context.Out.WriteLine($"Queue '{definition.Name}' set: concurrency {Limit(definition.MaxConcurrency)}, per key {Limit(definition.MaxConcurrencyPerKey)}, per minute {Limit(definition.RunsPerMinute)}, tokens per minute {Limit(definition.TokensPerMinute)}{(definition.RateLimitPerKey ? " (rates per key)" : string.Empty)}{(definition.Paused ? ", paused" : string.Empty)}.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static DurableClient ClientOf(IJournalStore store) => store is IRunQueueStore
        ? new DurableClient(store)
        : throw new CliException(ExitCodes.BadInput, $"The store ({store.GetType().Name}) has no queues: use a SQLite file or a PostgreSQL store.");

    private static string Limit(long? value) => value is { } n ? n.ToString("#,0", CultureInfo.InvariantCulture) : "-";
}
