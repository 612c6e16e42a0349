using System.CommandLine;
using Durably.Storage;

namespace Durably.Cli.Commands;

// durably fork RUN --at-step N: creates the forked run; the host that registers its workflow executes it.
internal static class ForkCommand
{
    public static Command Build()
    {
        var run = new Argument<string>("RUN") { Description = "The run to fork." };
        var atStep = new Option<int>("--at-step") { Description = "Keep steps 1 to N of the source; the fork runs again from step N+1.", HelpName = "N", Required = true };
        var newId = new Option<string?>("--new-id") { Description = "The new run's id. Default: a new random id.", HelpName = "ID" };
        var reuse = new Option<bool>("--reuse-model-outputs") { Description = "A model step after N reuses the source's recorded output only for the same request (messages, tools and chat options): a cache hit, no tokens spent. A changed prompt or model is sent to the model." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Effect steps after N never run: they return the source's recorded result for the same step and arguments, and the fork fails loudly where there is none." };
        var command = new Command("fork", """
            Fork a run for "what if": a new run whose journal is the source's first N steps, so it re-executes from step N+1
            (for example with another model or prompt). The command only creates the fork (status pending); a host that
            registers the workflow executes it, as it executes any new run.
            """) { run, atStep, newId, reuse, dryRun };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            var source = Inputs.RunId(context.Get(run));
            var step = context.Get(atStep);
            if (step < 0)
            {
                throw new CliException(ExitCodes.BadInput, $"--at-step is {step}; give 0 (keep no step) or a step number of the source run.");
            }

            RunId? target = context.Get(newId) is { } id ? Inputs.RunId(id, "new run id") : null;
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var client = new DurableClient(store);
            var timeline = await client.GetTimelineAsync(source, cancellationToken);
            var last = timeline.Steps.Count == 0 ? 0 : timeline.Steps.Max(s => s.Step);
            if (step > last)
            {
                throw new CliException(ExitCodes.BadInput, $"Run {source} has {last} step(s); --at-step {step} is past its end. Give a step number from 0 to {last}.");
            }

            RunHandle fork;
            try
            {
                fork = await client.ForkAsync(new ForkRequest(source, step) { NewRunId = target, ReuseModelOutputs = context.Get(reuse), DryRun = context.Get(dryRun) }, cancellationToken);
            }
            catch (JournalConcurrencyException) when (target is not null)
            {
                throw new CliException(ExitCodes.Conflict, $"A run with id '{target}' exists already. Choose another --new-id, or leave it out for a random one.");
            }
            if (context.Json)
            {
                context.WriteJson(new { runId = fork.RunId, source, atStep = step, workflow = timeline.Workflow, reuseModelOutputs = context.Get(reuse), dryRun = context.Get(dryRun) });
            }
            else
            {
                context.Out.WriteLine($"Forked run {source} at step {step} as {fork.RunId} (workflow '{timeline.Workflow}', pending). A host that registers '{timeline.Workflow}' executes it from step {step + 1}.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
