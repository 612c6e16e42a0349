using Durably.Storage;
using Microsoft.Extensions.Logging;

namespace Durably.Scheduling;

// The scheduler inside every worker: looks at the store's due schedules, starts their fires' runs and advances them, then
// sleeps until the soonest next fire (or the poll interval, so that schedules changed by other processes are seen).
//
// Exactly once across workers: a fire's run id is derived from the schedule and the fire time, so two workers that both
// start it start one run (the journal store starts an id once). Runs are started before the schedule is saved, and the save
// is conditional on the version read: a worker that dies between the two leaves the schedule due, and the next look (its own
// or another worker's) starts the same ids again, which finds them started, and saves. A worker that loses the save to
// another looks again at the newer record.
internal sealed class ScheduleRunner
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly DurableRuntime _runtime;
    private readonly IScheduleStore _store;
    private readonly ILogger _logger;
    private readonly HashSet<string> _unknownWorkflows = new(StringComparer.Ordinal);
    private readonly HashSet<(string Id, long Version)> _unreadable = [];
    private Task? _loop;

    public ScheduleRunner(DurableRuntime runtime, IScheduleStore store, ILogger logger)
    {
        _runtime = runtime;
        _store = store;
        _logger = logger;
    }

    private TimeProvider Time => _runtime.Options.TimeProvider;

    private TimeSpan PollInterval => _runtime.Options.PollInterval;

    public void Start(CancellationToken stopping) => _loop = Task.Run(() => LoopAsync(stopping), CancellationToken.None);

    public Task StopAsync() => _loop ?? Task.CompletedTask;

    private async Task LoopAsync(CancellationToken stopping)
    {
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = await PassAsync(stopping).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                failures++;
                wait = TimeSpan.FromTicks(Math.Min(PollInterval.Ticks << Math.Min(failures, 16), Math.Max(MaxBackoff.Ticks, PollInterval.Ticks)));
                Log.ScheduleFailed(_logger, wait, ex);
            }

            if (wait <= TimeSpan.Zero)
            {
                continue;
            }

            try
            {
                await Task.Delay(wait, Time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // One look at the due schedules; returns how long to sleep (zero: look again at once).
    internal async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        var soonest = now + PollInterval;
        var again = false;
        Exception? failed = null;
        var due = await _store.ListSchedulesAsync(new ScheduleQuery { DueBy = soonest }, cancellationToken).ConfigureAwait(false);
        foreach (var record in due)
        {
            if (record.DueAt is not { } dueAt || dueAt > now)
            {
                soonest = record.DueAt is { } later && later < soonest ? later : soonest;
                continue;
            }

            if (_runtime.FindWorkflow(record.Workflow) is null)
            {
                // Another worker of the store may register it; this one leaves the schedule alone.
                if (_unknownWorkflows.Add(record.ScheduleId))
                {
                    Log.ScheduleWorkflowUnknown(_logger, record.ScheduleId, record.Workflow);
                }

                continue;
            }

            ScheduleTimes times;
            try
            {
                times = ScheduleSpecs.TimesOf(record);
            }
            catch (ArgumentException ex)
            {
                // A spec this machine cannot read (a time zone it does not know): said once per version, and no reason to back
                // off from the other schedules; a worker that can read it fires it.
                if (_unreadable.Add((record.ScheduleId, record.Version)))
                {
                    Log.ScheduleFireFailed(_logger, record.ScheduleId, ex);
                }

                continue;
            }

            try
            {
                again |= await FireAsync(record, times, now, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // One schedule's failure (a store write) does not hold up the others; the pass then backs off.
                Log.ScheduleFireFailed(_logger, record.ScheduleId, ex);
                failed ??= ex;
            }
        }

        if (failed is not null)
        {
            throw new JournalStoreException($"Firing {due.Count} due schedule(s) failed: {failed.Message}", failed);
        }

        return again ? TimeSpan.Zero : soonest - Time.GetUtcNow();
    }

    // Starts what the plan says and saves the schedule; true when the schedule needs another look now.
    private async Task<bool> FireAsync(ScheduleRecord record, ScheduleTimes times, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var previousUnfinished = false;
        if (record.LastRunId is { } last && record.Overlap != ScheduleOverlap.AllowAll)
        {
            previousUnfinished = await _runtime.Store.GetRunAsync(last, cancellationToken).ConfigureAwait(false) is { } run && !run.Status.IsFinished();
        }

        var plan = SchedulePlanner.Plan(record, times, now, previousUnfinished);
        if (!plan.Changes(record))
        {
            return false;
        }

        foreach (var fire in plan.Starts)
        {
            var runId = ScheduleRunIds.ForFire(record.ScheduleId, fire);
            try
            {
                var handle = await _runtime.Client.StartScheduledAsync(runId, record.Workflow, record.Input, cancellationToken).ConfigureAwait(false);
                if (handle.IsNew)
                {
                    Log.ScheduleFired(_logger, record.ScheduleId, fire, runId);
                }
            }
            catch (InvalidOperationException ex)
            {
                // The id is taken by a run of another workflow (the schedule was re-created for another one): that fire cannot start.
                Log.ScheduleFireFailed(_logger, record.ScheduleId, ex);
            }
        }

        if (plan.Skipped > 0)
        {
            Log.ScheduleSkipped(_logger, record.ScheduleId, plan.Skipped, record.Overlap, record.CatchUp.Mode);
        }

        var saved = await _store.SaveScheduleAsync(plan.Updated with { UpdatedAt = now }, cancellationToken).ConfigureAwait(false);        
        // Look again at once after a lost save, or when the plan stopped short of the present; a buffered fire whose
        // predecessor still runs is looked at again at the next poll.
        return saved is null || saved.NextFireAt <= now;
    }
}
