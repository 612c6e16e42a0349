using Durably;
using Durably.Hosting;
using Durably.Postgres;
using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Durably to a service collection.</summary>
public static class DurablyServiceCollectionExtensions
{
    /// <summary>Adds the Durably runtime (the worker), its <see cref="DurableClient"/>, and a hosted service that recovers unfinished runs at start-up and executes runs while the host runs.</summary>
    /// <remarks>Inject <see cref="DurableClient"/> where runs are started, signalled, approved or read (a controller, an approval endpoint): it is the
    /// runtime's own client (<see cref="DurableRuntime.Client"/>), so it knows the registered workflows and wakes the worker at once.
    /// The options are also served as <see cref="IOptions{TOptions}"/> of <see cref="DurableRuntimeOptions"/> and checked at host start.</remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the runtime options; defaults otherwise.</param>
    /// <returns>A builder to choose the store (<see cref="UseSqlite"/>, <see cref="UsePostgres"/>) and register workflows.</returns>
#pragma warning disable RS0027 // This overload shipped first with its optional parameter; the configuration overload was added beside it.
    public static DurablyBuilder AddDurably(this IServiceCollection services, Func<DurableRuntimeOptions, DurableRuntimeOptions>? configure = null)
#pragma warning restore RS0027
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = AddDurablyCore(services, configuration: null);
        if (configure is not null)
        {
            builder.ConfigureRuntime(configure);
        }

        return builder;
    }

    /// <summary>Adds Durably as <see cref="AddDurably(IServiceCollection, Func{DurableRuntimeOptions, DurableRuntimeOptions}?)"/> does, with the runtime options and the store read from <paramref name="configuration"/> (the <c>"Durably"</c> section of appsettings.json).</summary>
    /// <remarks>
    /// <para>Keys (all optional): <c>WorkerId</c>, <c>MaxConcurrentRuns</c>, <c>LeaseDuration</c>, <c>PollInterval</c>, <c>MaxInMemoryWait</c>
    /// (time spans as <c>"00:00:30"</c>), <c>Checkpoint</c> (<c>EveryStep</c>, <c>PlanStep</c>, <c>DecisionPoint</c>, <c>Adaptive</c>),
    /// <c>AdaptiveCostFactor</c>, and <c>DefaultRetry</c> with <c>MaxAttempts</c>, <c>InitialDelay</c>, <c>BackoffCoefficient</c>,
    /// <c>MaxDelay</c>, <c>Jitter</c>. The codec and the clock are set in code (<see cref="DurablyBuilder.ConfigureRuntime"/>).</para>
    /// <para>The store: a <c>Sqlite</c> section (<c>Path</c>, <c>Durability</c>, <c>CreateIfMissing</c>, <c>MaxEntryBytes</c>, <c>BusyTimeout</c>)
    /// or a <c>Postgres</c> section (<c>ConnectionString</c> or <c>ConnectionStringName</c>, the name of an entry of the root's
    /// <c>ConnectionStrings</c>; <c>Schema</c>, <c>SchemaMode</c> (default <c>CreateOrUpdate</c>), <c>MaxEntryBytes</c>, <c>MaxBatchSize</c>,
    /// <c>InDoubtResolutionTimeout</c>, <c>ListenerKeepAlive</c>), served as <see cref="IOptions{TOptions}"/> of the store's options.
    /// A store chosen in code afterwards (<see cref="UseSqlite"/>, <see cref="UsePostgres"/>, <see cref="DurablyBuilder.UseStore"/>) replaces it.</para>
    /// <para>Everything is read and checked when the host starts: a value that is not of its type, a negative lease, both stores or
    /// none stop the host with an <see cref="OptionsValidationException"/> whose message names each bad key (<c>Durably:LeaseDuration</c>).
    /// Unknown keys are left alone (other parts of an application may keep settings in the section).</para>
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration section, such as <c>configuration.GetSection("Durably")</c>.</param>
    /// <returns>A builder to register workflows (and to choose or replace the store in code).</returns>
    public static DurablyBuilder AddDurably(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = AddDurablyCore(services, configuration);
        var sqlite = configuration.GetSection(DurablyConfiguration.Sqlite);
        var postgres = configuration.GetSection(DurablyConfiguration.Postgres);
        if (sqlite.Exists() && postgres.Exists())
        {
            builder.UseStore(_ => throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(DurableRuntimeOptions),
                [$"Both {sqlite.Path} and {postgres.Path} are configured. Durably uses one journal store: remove one of the sections."]));
        }
        else if (sqlite.Exists())
        {
            var section = SectionPath(sqlite);
            services.AddOptions<SqliteJournalStoreOptions>().ValidateOnStart();
            services.AddSingleton<IOptionsFactory<SqliteJournalStoreOptions>>(provider => new DurablyOptionsFactory<SqliteJournalStoreOptions>(
                () => Read(new ConfigurationReader(sqlite, section), DurablyConfiguration.ReadSqlite),
                [],
                [new SqliteJournalStoreOptionsValidator(section), .. provider.GetServices<IValidateOptions<SqliteJournalStoreOptions>>()]));
            builder.UseStore(provider => SqliteJournalStore.OpenAsync(provider.GetRequiredService<IOptions<SqliteJournalStoreOptions>>().Value).GetAwaiter().GetResult());
        }
        else if (postgres.Exists())
        {
            var section = SectionPath(postgres);
            services.AddOptions<PostgresJournalStoreOptions>().ValidateOnStart();
            services.AddSingleton<IOptionsFactory<PostgresJournalStoreOptions>>(provider => new DurablyOptionsFactory<PostgresJournalStoreOptions>(
                () => Read(new ConfigurationReader(postgres, section), read => DurablyConfiguration.ReadPostgres(
                    read, provider.GetService<IConfiguration>(), provider.GetService<ILoggerFactory>()?.CreateLogger("Durably.Postgres"))),
                [],
                [new PostgresJournalStoreOptionsValidator(section), .. provider.GetServices<IValidateOptions<PostgresJournalStoreOptions>>()]));
            builder.UseStore(provider => PostgresJournalStore.OpenAsync(provider.GetRequiredService<IOptions<PostgresJournalStoreOptions>>().Value).GetAwaiter().GetResult());
        }

        return builder;
    }

    private static DurablyBuilder AddDurablyCore(IServiceCollection services, IConfiguration? configuration)
    {
        var builder = new DurablyBuilder(services, configuration);
        var path = configuration is null ? "" : SectionPath(configuration);
        services.AddOptions<DurableRuntimeOptions>().ValidateOnStart();
        services.AddSingleton<IOptionsFactory<DurableRuntimeOptions>>(provider => new DurablyOptionsFactory<DurableRuntimeOptions>(
            () => configuration is null ? new DurableRuntimeOptions() : Read(new ConfigurationReader(configuration, path), DurablyConfiguration.ReadRuntime),
            builder.RuntimeConfigurations,
            [new DurableRuntimeOptionsValidator(path), .. provider.GetServices<IValidateOptions<DurableRuntimeOptions>>()]));
        services.TryAddSingleton(provider => builder.StoreFactory?.Invoke(provider)
            ?? throw new InvalidOperationException("Durably has no journal store. Set Durably:Sqlite:Path or Durably:Postgres:ConnectionString in configuration (with AddDurably(configuration.GetSection(\"Durably\")) or builder.AddDurably()), or call AddDurably().UseSqlite(path), UsePostgres(...) or UseStore(...)."));
        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<DurableRuntimeOptions>>().Value;
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

    // A section's full key ("Durably"); the root configuration has none.
    private static string SectionPath(IConfiguration configuration) => configuration is IConfigurationSection section ? section.Path : "";

    private static TOptions Read<TOptions>(ConfigurationReader reader, Func<ConfigurationReader, TOptions> read)
    {
        var options = read(reader);
        DurablyConfiguration.ThrowIfErrors<TOptions>(reader);
        return options;
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
