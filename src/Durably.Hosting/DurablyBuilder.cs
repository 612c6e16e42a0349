using Durably;
using Durably.Scheduling;
using Durably.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Configures Durably in a service collection: the store, the runtime options and the workflows.</summary>
public sealed class DurablyBuilder
{
    internal DurablyBuilder(IServiceCollection services)
    {
        Services = services;
    }

    /// <summary>Gets the service collection.</summary>
    public IServiceCollection Services { get; }

    internal Func<IServiceProvider, IJournalStore>? StoreFactory { get; set; }

    internal List<Action<IServiceProvider, DurableRuntime>> Registrations { get; } = [];

    /// <summary>Uses a store made by <paramref name="factory"/>; the container owns and disposes it.</summary>
    public DurablyBuilder UseStore(Func<IServiceProvider, IJournalStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        StoreFactory = factory;
        return this;
    }

    /// <summary>Registers a delegate workflow under <paramref name="name"/>.</summary>
    public DurablyBuilder AddWorkflow<TInput, TResult>(string name, Func<RunContext, TInput, Task<TResult>> workflow, WorkflowOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(workflow);
        Registrations.Add((_, runtime) => runtime.Register(name, workflow, options));
        return this;
    }

    /// <summary>Registers a class-form workflow, created from the container (with its dependencies) for every execution.</summary>
    public DurablyBuilder AddWorkflow<TWorkflow, TInput, TResult>()
        where TWorkflow : Workflow<TInput, TResult>
    {
        Services.AddTransient<TWorkflow>();
        Registrations.Add((services, runtime) => runtime.Register(() => (Workflow<TInput, TResult>)services.GetRequiredService<TWorkflow>()));
        return this;
    }

    /// <summary>Registers a schedule that starts runs of a registered workflow; the host saves it into the store at start-up.</summary>
    /// <remarks>See <see cref="DurableRuntime.AddSchedule"/>: a changed definition updates the stored schedule (a pause is kept), an unchanged
    /// one writes nothing, and every worker of the store fires each schedule exactly once per fire time. The store must support schedules
    /// (SQLite, PostgreSQL, in-memory); the host fails to start with <see cref="NotSupportedException"/> otherwise.</remarks>
    /// <exception cref="ArgumentException">The definition is invalid (checked here, before the host starts).</exception>
    public DurablyBuilder AddSchedule(ScheduleDefinition schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        schedule.Validate();
        Registrations.Add((_, runtime) => runtime.AddSchedule(schedule));
        return this;
    }
}
