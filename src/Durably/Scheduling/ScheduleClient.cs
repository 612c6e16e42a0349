using Durably.Storage;

namespace Durably.Scheduling;

/// <summary>Creates, lists and controls the schedules of a store: <see cref="DurableClient.Schedules"/>.</summary>
/// <remarks>
/// <para>Schedules live in the store (<see cref="IScheduleStore"/>), so a change made here in any process (a web app, the CLI)
/// reaches every worker of the store at its next look (within <see cref="DurableRuntimeOptions.PollInterval"/>). Every verb
/// returns once its change is durable. Changes are conditional on the version read, and retried against the new version when
/// a worker advanced the schedule meanwhile, so nothing a worker records is overwritten. Thread-safe.</para>
/// </remarks>
public sealed class ScheduleClient
{
    private readonly DurableClient _client;

    internal ScheduleClient(DurableClient client)
    {
        _client = client;
    }

    private IScheduleStore Store => _client.Store as IScheduleStore
        ?? throw new NotSupportedException($"The store {_client.Store.GetType().Name} does not support schedules: it does not implement IScheduleStore. Use the SQLite, PostgreSQL or in-memory store, or implement IScheduleStore in this store.");

    private DateTimeOffset Now => _client.Options.TimeProvider.GetUtcNow();

    /// <summary>Creates a schedule, or updates the one with the same id.</summary>
    /// <remarks>
    /// <para>A new schedule's first fire is the first time after now. An update replaces the spec (workflow, input, timing,
    /// policies) and keeps the state: paused or not, the last fire and its run, the trigger count. When the timing (cron, time
    /// zone or interval) changed, fires restart from now: the next fire is the first one of the new timing after now, and a
    /// buffered fire is dropped. A definition equal to the stored one writes nothing.</para>
    /// <para><see cref="ScheduleDefinition.Input"/> is encoded with the client's codec (it must match the workers').</para>
    /// </remarks>
    /// <returns>The stored schedule.</returns>
    /// <exception cref="ArgumentException">The definition is invalid (the message says what to change).</exception>
    /// <exception cref="NotSupportedException">The store does not support schedules.</exception>
    public async Task<ScheduleRecord> SaveAsync(ScheduleDefinition definition, CancellationToken cancellationToken = default)
    {
        ScheduleSpecs.Check(definition);
        var store = Store;
        while (true)
        {
            var existing = await store.GetScheduleAsync(definition.Id, cancellationToken).ConfigureAwait(false);
            var record = ScheduleSpecs.Apply(definition, _client.Options.Codec, existing, Now);
            if (record is null)
            {
                return existing!;
            }

            if (await store.SaveScheduleAsync(record, cancellationToken).ConfigureAwait(false) is { } saved)
            {
                return saved;
            }
        }
    }

    /// <summary>Reads a schedule.</summary>
    /// <exception cref="ScheduleNotFoundException">No schedule has that id.</exception>
    /// <exception cref="NotSupportedException">The store does not support schedules.</exception>
    public async Task<ScheduleRecord> GetAsync(string scheduleId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scheduleId);
        return await Store.GetScheduleAsync(scheduleId, cancellationToken).ConfigureAwait(false) ?? throw new ScheduleNotFoundException(scheduleId);
    }

    /// <summary>Lists the schedules in id order.</summary>
    /// <exception cref="NotSupportedException">The store does not support schedules.</exception>
    public Task<IReadOnlyList<ScheduleRecord>> ListAsync(ScheduleQuery? query = null, CancellationToken cancellationToken = default)
        => Store.ListSchedulesAsync(query ?? new ScheduleQuery(), cancellationToken);

    /// <summary>Pauses a schedule: it starts no runs until resumed. Runs it started go on; a manual trigger still starts a run.</summary>
    /// <exception cref="ScheduleNotFoundException">No schedule has that id.</exception>
    public Task<ScheduleRecord> PauseAsync(string scheduleId, CancellationToken cancellationToken = default)
        => ChangeAsync(scheduleId, (record, _) => record.Paused ? null : record with { Paused = true }, cancellationToken);

    /// <summary>Resumes a paused schedule. Fires that fell due while it was paused are not started: its next fire is the first one after now.</summary>
    /// <exception cref="ScheduleNotFoundException">No schedule has that id.</exception>
    public Task<ScheduleRecord> ResumeAsync(string scheduleId, CancellationToken cancellationToken = default)
        => ChangeAsync(
            scheduleId,
            (record, now) => record.Paused ? record with { Paused = false, NextFireAt = ScheduleSpecs.TimesOf(record).NextAfter(now), BufferedFireAt = null } : null,
            cancellationToken);

    /// <summary>Fires a schedule now, by hand: starts one run of its workflow with its input, whatever its overlap policy and even when paused.</summary>
    /// <remarks>Each call starts exactly one run, <c>{id}@manual-{n}</c> (<see cref="ScheduleRunIds.ForTrigger"/>) where <c>n</c> counts the
    /// triggers: concurrent calls get different numbers. A call that failed after starting its run (the process died) leaves that run
    /// behind, and the next call adopts it as its own. A manual fire does not change the schedule's next fire or the run its overlap
    /// policy looks at.</remarks>
    /// <returns>A handle to the run started.</returns>
    /// <exception cref="ScheduleNotFoundException">No schedule has that id.</exception>
    public async Task<RunHandle> TriggerAsync(string scheduleId, CancellationToken cancellationToken = default)
    {
        var store = Store;
        while (true)
        {
            var record = await GetAsync(scheduleId, cancellationToken).ConfigureAwait(false);
            var trigger = record.TriggerCount + 1;
            var runId = ScheduleRunIds.ForTrigger(scheduleId, trigger);

            // Started before the count is saved: the run id is the trigger's claim, and a lost save only means another try.
            await _client.StartScheduledAsync(runId, record.Workflow, record.Input, cancellationToken).ConfigureAwait(false);
            if (await store.SaveScheduleAsync(record with { TriggerCount = trigger, UpdatedAt = Now }, cancellationToken).ConfigureAwait(false) is not null)
            {
                return new RunHandle(_client, runId, isNew: true);
            }
        }
    }

    /// <summary>Deletes a schedule. Runs it started are kept.</summary>
    /// <returns><see langword="true"/> when it was deleted, <see langword="false"/> when no schedule had that id.</returns>
    public Task<bool> DeleteAsync(string scheduleId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scheduleId);
        return Store.DeleteScheduleAsync(scheduleId, cancellationToken);
    }

    private async Task<ScheduleRecord> ChangeAsync(string scheduleId, Func<ScheduleRecord, DateTimeOffset, ScheduleRecord?> change, CancellationToken cancellationToken)
    {
        var store = Store;
        while (true)
        {
            var record = await GetAsync(scheduleId, cancellationToken).ConfigureAwait(false);
            var now = Now;
            if (change(record, now) is not { } updated)
            {
                return record;
            }

            if (await store.SaveScheduleAsync(updated with { UpdatedAt = now }, cancellationToken).ConfigureAwait(false) is { } saved)
            {
                return saved;
            }
        }
    }
}
