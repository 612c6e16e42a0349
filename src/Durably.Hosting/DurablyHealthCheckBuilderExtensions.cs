using Durably;
using Durably.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Durably's health checks.</summary>
public static class DurablyHealthCheckBuilderExtensions
{
    /// <summary>Registers two health checks with <c>services.AddHealthChecks()</c>: the journal store (<c>"durably-store"</c>) and the worker (<c>"durably-worker"</c>).</summary>
    /// <remarks>
    /// <para>The store's check reads at most one row (<see cref="Durably.Storage.IJournalStoreHealth"/> where the store has it, else a
    /// lookup of one run id) and reports Unhealthy with the store's error: a <see cref="Durably.Storage.JournalStoreFailedException"/>
    /// after a failed sync, a deleted journal file, an unreachable PostgreSQL server, a store that could not be opened.</para>
    /// <para>The worker's check (<see cref="DurableRuntime.GetStatus"/>) is Healthy while it runs and has polled the store recently,
    /// Degraded while it stops or when only its last poll failed, and Unhealthy before it starts, after it stopped, or when it has not
    /// polled successfully for <see cref="DurablyHealthCheckOptions.MaxPollAge"/>.</para>
    /// <para>Serve them in ASP.NET Core with <c>app.MapHealthChecks("/healthz")</c>.</para>
    /// </remarks>
    /// <param name="builder">The Durably builder.</param>
    /// <param name="options">Names, tags and thresholds; defaults otherwise.</param>
    /// <returns>The builder.</returns>
    public static DurablyBuilder AddHealthChecks(this DurablyBuilder builder, DurablyHealthCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        options ??= new DurablyHealthCheckOptions();
        ArgumentException.ThrowIfNullOrWhiteSpace(options.StoreCheckName, nameof(options));
        ArgumentException.ThrowIfNullOrWhiteSpace(options.WorkerCheckName, nameof(options));
        builder.Services.AddHealthChecks()
            .Add(new HealthCheckRegistration(options.StoreCheckName, services => new DurablyStoreHealthCheck(services), failureStatus: null, options.Tags, options.Timeout))
            .Add(new HealthCheckRegistration(options.WorkerCheckName, services => new DurablyWorkerHealthCheck(services, options), failureStatus: null, options.Tags, options.Timeout));
        return builder;
    }
}
