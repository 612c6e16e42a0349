using Durably.Scheduling;
using Durably.Storage;

namespace Durably;

// Schedules registered in code, saved into the store at start-up, and the scheduler that fires every schedule of the store.
public sealed partial class DurableRuntime
{
    private readonly List<ScheduleDefinition> _schedules = [];
    private ScheduleRunner? _scheduler;

    /// <summary>Registers a schedule; <see cref="StartAsync"/> saves it into the store (creating it, or updating the stored one of that id).</summary>
    /// <remarks>
    /// <para>Every worker over a store that supports schedules (<see cref="IScheduleStore"/>) runs a scheduler that fires all the
    /// store's schedules of workflows it registers, whether registered in code or created through <see cref="DurableClient.Schedules"/>:
    /// each fire starts exactly one run, however many workers there are (see <see cref="ScheduleRunIds.ForFire"/>).</para>
    /// <para>At start-up a changed definition updates the stored schedule as <see cref="ScheduleClient.SaveAsync"/> does: the spec is
    /// replaced, a pause made through the client or the CLI is kept, and a change of timing restarts its fires from now. An
    /// unchanged definition writes nothing. A schedule removed from code stays in the store (other workers may still register it):
    /// delete it with <see cref="ScheduleClient.DeleteAsync"/> or <c>durably schedules delete</c>.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The definition is invalid, or another schedule of this runtime has its id.</exception>
    /// <exception cref="InvalidOperationException">The runtime is started already.</exception>
    public void AddSchedule(ScheduleDefinition schedule)
    {
        ScheduleSpecs.Check(schedule);
        lock (_schedules)
        {
            if (_loop is not null)
            {
                throw new InvalidOperationException($"Add schedule '{schedule.Id}' before StartAsync. To change the schedules of a running host, use its client: runtime.Client.Schedules.SaveAsync(...).");
            }

            if (_schedules.Any(s => s.Id == schedule.Id))
            {
                throw new ArgumentException($"A schedule with the id '{schedule.Id}' is registered already.", nameof(schedule));
            }

            _schedules.Add(schedule);
        }
    }

    private void CheckSchedulesSupported()
    {
        if (_schedules.Count > 0 && Store is not IScheduleStore)
        {
            throw new NotSupportedException($"The runtime registers {_schedules.Count} schedule(s), but its store {Store.GetType().Name} does not support schedules (it does not implement IScheduleStore). Use the SQLite, PostgreSQL or in-memory store, or remove the schedules.");
        }
    }

    private async Task StartSchedulesAsync(CancellationToken cancellationToken)
    {
        if (Store is not IScheduleStore store)
        {
            return;
        }

        foreach (var schedule in _schedules)
        {
            await Client.Schedules.SaveAsync(schedule, cancellationToken).ConfigureAwait(false);
        }

        _scheduler = new ScheduleRunner(this, store, _logger);
        _scheduler.Start(_shutdown.Token);
    }

    private Task StopSchedulesAsync() => _scheduler?.StopAsync() ?? Task.CompletedTask;
}
