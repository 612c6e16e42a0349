using Durably;
using Durably.Hosting;
using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Durably to a service collection.</summary>
public static class DurablyServiceCollectionExtensions
{
    /// <summary>Adds the Durably runtime and a hosted service that recovers unfinished runs at start-up and executes runs while the host runs.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the runtime options; defaults otherwise.</param>
    /// <returns>A builder to choose the store (<see cref="UseSqlite"/>) and register workflows.</returns>
    public static DurablyBuilder AddDurably(this IServiceCollection services, Func<DurableRuntimeOptions, DurableRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = new DurablyBuilder(services);
        services.TryAddSingleton(provider => builder.StoreFactory?.Invoke(provider)
            ?? throw new InvalidOperationException("Durably has no journal store. Call AddDurably().UseSqlite(path), UsePostgres(...) or UseStore(...)."));
        services.TryAddSingleton(provider =>
        {
            var options = configure?.Invoke(new DurableRuntimeOptions()) ?? new DurableRuntimeOptions();
            var runtime = new DurableRuntime(provider.GetRequiredService<IJournalStore>(), options, provider.GetService<ILoggerFactory>());
            foreach (var register in builder.Registrations)
            {
                register(provider, runtime);
            }

            return runtime;
        });
        services.AddHostedService<DurablyHostedService>();
        return builder;
    }

    /// <summary>Stores journals in a SQLite file at <paramref name="path"/> (created if missing).</summary>
    public static DurablyBuilder UseSqlite(this DurablyBuilder builder, string path, Func<SqliteJournalStoreOptions, SqliteJournalStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var options = new SqliteJournalStoreOptions { Path = path };
        options = configure?.Invoke(options) ?? options;
        return builder.UseStore(_ => SqliteJournalStore.OpenAsync(options).GetAwaiter().GetResult());
    }
}
