using System.CommandLine;
using System.Globalization;
using Durably.Scheduling;
using Durably.Storage;

namespace Durably.Cli.Commands;

// durably schedules list | show | pause | resume | trigger | delete: each returns once its change is durable in the store.
internal static class SchedulesCommands
{
    public static Command Build()
    {
        var schedules = new Command("schedules", "List, show, pause, resume, trigger and delete the store's schedules (cron and interval schedules that start runs). Workers of the store see a change at their next poll.");
        schedules.Add(BuildList());
        schedules.Add(BuildShow());
        schedules.Add(BuildChange("pause", "Pause a schedule: it starts no runs until resumed (runs it started go on).", (s, id, ct) => s.PauseAsync(id, ct), "Paused"));
        schedules.Add(BuildChange("resume", "Resume a paused schedule. Fires that fell due while it was paused are not started: it fires next at its first time after now.", (s, id, ct) => s.ResumeAsync(id, ct), "Resumed"));
        schedules.Add(BuildTrigger());
        schedules.Add(BuildDelete());
        return schedules;
    }

    private static Command BuildList()
    {
        var command = new Command("list", "List the schedules with their timing, state, next fire and last fire.");
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var found = await new DurableClient(store).Schedules.ListAsync(new ScheduleQuery { MaxCount = 10_000 }, cancellationToken);
            if (context.Json)
            {
                context.WriteJson(new { schedules = found.Select(ToJson) });
                return ExitCodes.Ok;
            }

            if (found.Count == 0)
            {
                context.Out.WriteLine("No schedules.");
                return ExitCodes.Ok;
            }

            Format.Table(
                context.Out,
                ["SCHEDULE", "WORKFLOW", "WHEN", "STATE", "NEXT FIRE", "LAST FIRE", "LAST RUN"],
                found.Select(s => (IReadOnlyList<string>)[s.ScheduleId, s.Workflow, When(s), s.Paused ? "paused" : "active", s.Paused ? "-" : Format.Time(s.NextFireAt), Format.Time(s.LastFireAt), s.LastRunId?.Value ?? "-"]));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command BuildShow()
    {
        var id = ScheduleArgument();
        var command = new Command("show", "Show one schedule: its workflow and input, timing, overlap and catch-up policies, state, and its fires so far.") { id };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var schedule = await new DurableClient(store).Schedules.GetAsync(context.Get(id)!, cancellationToken);
            if (context.Json)
            {
                context.WriteJson(ToJson(schedule));
                return ExitCodes.Ok;
            }

            var output = context.Out;
            output.WriteLine($"Schedule  {schedule.ScheduleId}");
            output.WriteLine($"Workflow  {schedule.Workflow}");
            output.WriteLine($"Input     {Format.Payload(schedule.Input, 200)}");
            output.WriteLine($"When      {When(schedule)}");
            output.WriteLine($"Overlap   {Name(schedule.Overlap)}");
            output.WriteLine($"Catch-up  {CatchUp(schedule.CatchUp)}");
            output.WriteLine($"State     {(schedule.Paused ? "paused" : "active")}");
            output.WriteLine($"Next fire {(schedule.Paused ? "- (paused)" : Format.Time(schedule.NextFireAt))}");
            output.WriteLine($"Last fire {Format.Time(schedule.LastFireAt)}{(schedule.LastRunId is { } run ? $" (run {run})" : string.Empty)}");
            if (schedule.BufferedFireAt is { } buffered)
            {
                output.WriteLine($"Waiting   the fire of {Format.Time(buffered)}, until the last fire's run finishes");
            }

            output.WriteLine($"Triggers  {schedule.TriggerCount.ToString(CultureInfo.InvariantCulture)}");
            output.WriteLine($"Updated   {Format.Time(schedule.UpdatedAt)} (version {schedule.Version.ToString(CultureInfo.InvariantCulture)})");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command BuildChange(string verb, string description, Func<ScheduleClient, string, CancellationToken, Task<ScheduleRecord>> change, string done)
    {
        var id = ScheduleArgument();
        var command = new Command(verb, description) { id };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var schedule = await change(new DurableClient(store).Schedules, context.Get(id)!, cancellationToken);
            if (context.Json)
            {
                context.WriteJson(ToJson(schedule));
            }
            else
            {
                context.Out.WriteLine($"{done} schedule {schedule.ScheduleId}{(schedule.Paused ? "." : $"; next fire {Format.Time(schedule.NextFireAt)}.")}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command BuildTrigger()
    {
        var id = ScheduleArgument();
        var command = new Command("trigger", "Fire a schedule now, by hand: start one run of its workflow with its input ({id}@manual-{n}), whatever its overlap policy and even when paused. A worker that registers the workflow executes it.") { id };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var scheduleId = context.Get(id)!;
            var run = await new DurableClient(store).Schedules.TriggerAsync(scheduleId, cancellationToken);
            if (context.Json)
            {
                context.WriteJson(new { scheduleId, runId = run.RunId.Value });
            }
            else
            {
                context.Out.WriteLine($"Triggered schedule {scheduleId}: started run {run.RunId}.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command BuildDelete()
    {
        var id = ScheduleArgument();
        var command = new Command("delete", "Delete a schedule; the runs it started are kept. A host that registers it in code saves it again at its next start.") { id };
        DurablyCommandLine.SetHandler(command, async (context, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(cancellationToken);
            var scheduleId = context.Get(id)!;
            if (!await new DurableClient(store).Schedules.DeleteAsync(scheduleId, cancellationToken))
            {
                throw new ScheduleNotFoundException(scheduleId);
            }

            if (context.Json)
            {
                context.WriteJson(new { scheduleId, deleted = true });
            }
            else
            {
                context.Out.WriteLine($"Deleted schedule {scheduleId}.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Argument<string> ScheduleArgument() => new("SCHEDULE") { Description = "The schedule id (see 'durably schedules list')." };

    private static string When(ScheduleRecord schedule) => schedule.Interval is { } interval
        ? "every " + Interval(interval)
        : $"cron '{schedule.Cron}'{(schedule.TimeZone is { } zone ? " " + zone : " UTC")}";

    private static string Interval(TimeSpan interval) => interval switch
    {
        { TotalDays: >= 1 } when interval.Ticks % TimeSpan.TicksPerDay == 0 => $"{interval.TotalDays.ToString(CultureInfo.InvariantCulture)}d",
        { TotalHours: >= 1 } when interval.Ticks % TimeSpan.TicksPerHour == 0 => $"{interval.TotalHours.ToString(CultureInfo.InvariantCulture)}h",
        { TotalMinutes: >= 1 } when interval.Ticks % TimeSpan.TicksPerMinute == 0 => $"{interval.TotalMinutes.ToString(CultureInfo.InvariantCulture)}m",
        _ => $"{interval.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s",
    };

    private static string Name(ScheduleOverlap overlap) => overlap switch
    {
        ScheduleOverlap.BufferOne => "buffer-one",
        ScheduleOverlap.AllowAll => "allow-all",
        _ => "skip",
    };

    private static string CatchUp(CatchUpPolicy policy) => (policy.Mode switch
    {
        CatchUpMode.None => "none",
        CatchUpMode.All => $"all, up to {policy.MaxFires.ToString(CultureInfo.InvariantCulture)}",
        _ => "last",
    }) + $" (grace {policy.Grace})";

    // The shape of a schedule in --json and in the dashboard's API.
    internal static object ToJson(ScheduleRecord s) => new
    {
        scheduleId = s.ScheduleId,
        workflow = s.Workflow,
        when = When(s),
        input = s.Input is { IsJson: true } json ? System.Text.Json.JsonDocument.Parse(json.Data).RootElement.Clone() : (object?)null,
        cron = s.Cron,
        timeZone = s.TimeZone,
        intervalSeconds = s.Interval?.TotalSeconds,
        overlap = Name(s.Overlap),
        catchUp = new { mode = s.CatchUp.Mode.ToString().ToLowerInvariant(), maxFires = s.CatchUp.MaxFires, graceSeconds = s.CatchUp.Grace.TotalSeconds },
        paused = s.Paused,
        nextFireAt = s.Paused ? null : s.NextFireAt,
        lastFireAt = s.LastFireAt,
        lastRunId = s.LastRunId?.Value,
        bufferedFireAt = s.BufferedFireAt,
        triggerCount = s.TriggerCount,
        version = s.Version,
        updatedAt = s.UpdatedAt,
    };
}
