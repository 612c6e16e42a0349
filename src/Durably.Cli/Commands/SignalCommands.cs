using System.CommandLine;
using Durably.Storage;

namespace Durably.Cli.Commands;

// durably signal | approve | reject | resolve | cancel: each returns once what it delivered is durable in the store.
internal static class SignalCommands
{
    public static Command BuildSignal()
    {
        var run = new Argument<string>("RUN") { Description = "The run id." };
        var name = new Argument<string>("NAME") { Description = "The signal name the run waits for (ctx.WaitForSignalAsync)." };
        var json = new Argument<string?>("JSON") { Description = "The payload: one JSON value, for example '{\"city\":\"Oslo\"}' or '42', or - to read it from standard input (for payloads too long for a command line). None for no payload.", Arity = ArgumentArity.ZeroOrOne };
        var sender = SenderOption();
        var command = new Command("signal", "Deliver a signal to a run. Returns once the signal is durable in the store; a host that has the run resumes it (also while it runs in another process).") { run, name, json, sender };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var runId = Inputs.RunId(context.Get(run));
            var signalName = context.Get(name)!;
            var payload = context.Get(json) switch
            {
                null => null,
                "-" => await Inputs.JsonFromStandardInputAsync("signal payload", cancellationToken),
                var text => Inputs.Json(text, "signal payload"),
            };
            var from = Sender(context, sender);
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var client = new DurableClient(store);
            var delivered = await RunOperations.SignalAsync(client, runId, signalName, payload, from, cancellationToken);
            Report(context, runId, delivered, $"Delivered signal '{signalName}' to run {runId}");
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command BuildApprove(bool approve)
    {
        var run = new Argument<string>("RUN") { Description = "The run id." };
        var gate = new Argument<string>("GATE") { Description = "The approval gate (the name the workflow passed to ctx.WaitForApprovalAsync)." };
        var comment = new Option<string?>("--comment", "-c") { Description = "A comment recorded with the decision.", HelpName = "TEXT" };
        var sender = SenderOption();
        var verb = approve ? "approve" : "reject";
        var command = new Command(verb, $"{(approve ? "Approve" : "Reject")} at an approval gate. The decision and who made it (--as) are recorded in the run's journal. Returns once the decision is durable; a host resumes the run.") { run, gate, comment, sender };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var runId = Inputs.RunId(context.Get(run));
            var gateName = context.Get(gate)!;
            var approver = Sender(context, sender);
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var client = new DurableClient(store);
            var (delivered, wasWaiting) = await RunOperations.DecideAsync(client, runId, gateName, approve, approver, context.Get(comment), cancellationToken);
            Report(context, runId, delivered, $"{(approve ? "Approved" : "Rejected")} gate '{gateName}' of run {runId} as {delivered.Sender}");
            if (!wasWaiting)
            {
                context.Note($"Note: run {runId} is not waiting at a gate now; the decision applies when it reaches '{gateName}'.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command BuildResolve()
    {
        var run = new Argument<string>("RUN") { Description = "The run id." };
        var step = new Argument<int>("STEP") { Description = "The number of the step in doubt (see 'durably runs show RUN')." };
        var done = new Option<string?>("--done") { Description = "The effect happened: its result (one JSON value, optional) becomes the step's outcome.", HelpName = "JSON", Arity = ArgumentArity.ZeroOrOne };
        var retry = new Option<bool>("--retry") { Description = "The effect did not happen: run the step again with the same idempotency key." };
        var abort = new Option<bool>("--abort") { Description = "Fail the step (and, unless the workflow handles it, the run)." };
        var sender = SenderOption();
        var command = new Command("resolve", "Resolve an effect step left in doubt (in-doubt policy AskHuman): --done [JSON], --retry or --abort. Who resolved it (--as) is recorded in the journal.") { run, step, done, retry, abort, sender };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var runId = Inputs.RunId(context.Get(run));
            var stepNumber = context.Get(step);
            var isDone = context.Parse.GetResult(done) is not null;
            var chosen = (isDone ? 1 : 0) + (context.Get(retry) ? 1 : 0) + (context.Get(abort) ? 1 : 0);
            if (chosen != 1)
            {
                throw new CliException(ExitCodes.Usage, "Say what happened with exactly one of --done [JSON], --retry or --abort.");
            }

            var resolution = isDone
                ? InDoubtResolution.Done(context.Get(done) is { } text ? Inputs.Json(text, "step result") : null)
                : context.Get(retry) ? InDoubtResolution.Retry : InDoubtResolution.Abort;
            var resolvedBy = Sender(context, sender);
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var client = new DurableClient(store);
            var (delivered, target) = await RunOperations.ResolveAsync(client, runId, stepNumber, resolution, resolvedBy, cancellationToken);
            Report(context, runId, delivered, $"Resolved step {stepNumber} '{target.Name}' of run {runId} as {resolution.Action} ({delivered.Sender})");
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command BuildCancel()
    {
        var run = new Argument<string>("RUN") { Description = "The run id." };
        var reason = new Option<string?>("--reason") { Description = "Why; recorded in the run's journal. Default: cancelled.", HelpName = "TEXT" };
        var command = new Command("cancel", "Cancel a run: it stops at its next durable call, runs its compensations and ends cancelled (or compensated). Returns once the cancellation is durable; a host that has the run carries it out.") { run, reason };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var runId = Inputs.RunId(context.Get(run));
            var why = context.Get(reason) ?? "cancelled";
            if (string.IsNullOrWhiteSpace(why))
            {
                throw new CliException(ExitCodes.BadInput, "--reason is empty. Give a reason, or leave the option out.");
            }

            await using var store = await context.OpenStoreAsync(cancellationToken);
            var client = new DurableClient(store);
            var delivered = await client.CancelAsync(new CancelRequest(runId) { Reason = why }, cancellationToken);
            Report(context, runId, delivered, $"Cancelled run {runId} ({why})");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Option<string?> SenderOption() => new("--as")
    {
        Description = "Who is acting; recorded in the journal as the sender. Default: the current user name.",
        HelpName = "USER",
    };

    private static string Sender(CliContext context, Option<string?> option)
    {
        var sender = context.Get(option);
        if (sender is null)
        {
            return Environment.UserName;
        }

        return string.IsNullOrWhiteSpace(sender) ? throw new CliException(ExitCodes.BadInput, "--as is empty. Give the name to record, or leave the option out to record your user name.") : sender;
    }

    private static void Report(CliContext context, RunId runId, DeliveredSignal delivered, string summary)
    {
        if (context.Json)
        {
            context.WriteJson(new { runId, delivered.SignalId, delivered.Name, delivered.Sender, delivered.DeliveredAt, delivered.Payload });
        }
        else
        {
            context.Out.WriteLine($"{summary}: durable in the store as signal {delivered.SignalId}. A host that has the run resumes it.");
        }
    }
}
