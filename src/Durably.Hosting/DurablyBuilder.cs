using Durably;
using Durably.Scheduling;
using Durably.Storage;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Configures Durably in a service collection: the store, the runtime options and the workflows.</summary>
public sealed class DurablyBuilder
{
    internal DurablyBuilder(IServiceCollection services, IConfiguration? configuration)
    {
        Services = services;
        Configuration = configuration;
    }

    /// <summary>Gets the service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Gets the configuration section Durably was added with (<c>"Durably"</c> by default), or null when it was added without one.</summary>
    public IConfiguration? Configuration { get; }

    internal Func<IServiceProvider, IJournalStore>? StoreFactory { get; set; }

    internal List<Action<IServiceProvider, DurableRuntime>> Registrations { get; } = [];

    internal List<Func<DurableRuntimeOptions, DurableRuntimeOptions>> RuntimeConfigurations { get; } = [];

    /// <summary>Uses a store made by <paramref name="factory"/>; the container owns and disposes it.</summary>
    /// <remarks>It replaces the store chosen before, in code or by configuration (<c>Durably:Sqlite</c>, <c>Durably:Postgres</c>).</remarks>
    public DurablyBuilder UseStore(Func<IServiceProvider, IJournalStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        StoreFactory = factory;
        return this;
    }

    /// <summary>Changes the runtime options: <paramref name="configure"/> gets the options so far (from configuration, then from earlier calls) and returns the options to use.</summary>
    /// <remarks>The options are checked at host start; a bad value stops the host with an <see cref="Options.OptionsValidationException"/>.</remarks>
    public DurablyBuilder ConfigureRuntime(Func<DurableRuntimeOptions, DurableRuntimeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        RuntimeConfigurations.Add(configure);
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

    /// <summary>Registers a queue with its limits; the host saves it into the store at start-up, before its first claim.</summary>
    /// <remarks>See <see cref="DurableRuntime.AddQueue"/>: a stored definition that differs is replaced (a pause in the store is kept), an
    /// unchanged one writes nothing. The store must support queues (SQLite, PostgreSQL, in-memory); the host fails to start with
    /// <see cref="NotSupportedException"/> otherwise.</remarks>
    /// <exception cref="ArgumentException">The definition is invalid (checked here, before the host starts).</exception>
    public DurablyBuilder AddQueue(QueueDefinition queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        queue.Validate();
        Registrations.Add((_, runtime) => runtime.AddQueue(queue));
        return this;
    }
}
