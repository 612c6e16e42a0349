using Durably;
using Durably.Hosting;
using Durably.Postgres;
using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Durably to a service collection.</summary>
public static class DurablyServiceCollectionExtensions
{
    /// <summary>Adds the Durably runtime (the worker), its <see cref="DurableClient"/>, and a hosted service that recovers unfinished runs at start-up and executes runs while the host runs.</summary>
    /// <remarks>Inject <see cref="DurableClient"/> where runs are started, signalled, approved or read (a controller, an approval endpoint): it is the
    /// runtime's own client (<see cref="DurableRuntime.Client"/>), so it knows the registered workflows and wakes the worker at once.</remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the runtime options; defaults otherwise.</param>
    /// <returns>A builder to choose the store (<see cref="UseSqlite"/>, <see cref="UsePostgres"/>) and register workflows.</returns>
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
        services.TryAddSingleton(provider => provider.GetRequiredService<DurableRuntime>().Client);
        services.AddHostedService<DurablyHostedService>();
        return builder;
    }

    /// <summary>Runs <paramref name="policy"/> in the host: a background service (<see cref="DurablyRetentionService"/>) purges finished runs older than their keep time, archiving them first when asked, and collects unreferenced payload blobs, at start-up and every <see cref="RetentionPolicy.Interval"/>.</summary>
    /// <remarks>The service uses the container's <see cref="TimeProvider"/> when one is registered, the system clock otherwise. Retention is owned by the host, not by the runtime: a process that only holds a client never purges.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The policy is not valid.</exception>
    public static DurablyBuilder AddRetention(this DurablyBuilder builder, RetentionPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        builder.Services.TryAddSingleton(provider => new DurablyRetentionService(
            provider.GetRequiredService<IJournalStore>(), policy, provider.GetService<TimeProvider>(), provider.GetService<ILoggerFactory>()));
        builder.Services.AddHostedService(provider => provider.GetRequiredService<DurablyRetentionService>());
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

    /// <summary>Stores journals in PostgreSQL, where several worker processes on several machines share them.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">An Npgsql connection string (<c>Host=db;Database=app;Username=worker;Password=...</c>) or a <c>postgres://user:password@host:port/database</c> URL.</param>
    /// <param name="configure">Changes the store options; it gets them with the connection string, <see cref="PostgresSchemaMode.CreateOrUpdate"/> and the host's logger set, and returns the options to use.</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// <para>The schema mode is <see cref="PostgresSchemaMode.CreateOrUpdate"/> by default, so a development host creates the
    /// schema on first start. In production, where the schema is applied by a migration
    /// (<see cref="PostgresJournalStore.GetSchemaScript"/>) and the workers' database user may not run DDL, validate it instead:</para>
    /// <code>
    /// services.AddDurably().UsePostgres(connectionString, o => new PostgresJournalStoreOptions
    /// {
    ///     ConnectionString = o.ConnectionString,
    ///     Logger = o.Logger,
    ///     SchemaMode = PostgresSchemaMode.Validate,
    /// });
    /// </code>
    /// <para>The store is opened (and its schema created or checked) when the runtime is first resolved, and the container
    /// disposes it. Give every worker process a distinct <see cref="DurableRuntimeOptions.WorkerId"/> (the default, machine
    /// and process id, is). The runtime wakes on the store's notifications (<see cref="Durably.Storage.IRunWakeupSource"/>),
    /// so signals delivered by other processes are picked up at once.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The connection string is neither a valid URL nor a valid Npgsql connection string.</exception>
    public static DurablyBuilder UsePostgres(this DurablyBuilder builder, string connectionString, Func<PostgresJournalStoreOptions, PostgresJournalStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var npgsql = PostgresConnectionString.ToNpgsql(connectionString);
        return builder.UseStore(provider =>
        {
            var options = new PostgresJournalStoreOptions
            {
                ConnectionString = npgsql,
                SchemaMode = PostgresSchemaMode.CreateOrUpdate,
                Logger = provider.GetService<ILoggerFactory>()?.CreateLogger("Durably.Postgres"),
            };
            options = configure?.Invoke(options) ?? options;
            return PostgresJournalStore.OpenAsync(options).GetAwaiter().GetResult();
        });
    }
}
