using Durably;
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
}
