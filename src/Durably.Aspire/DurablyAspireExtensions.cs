using System.Data.Common;
using Durably;
using Durably.Aspire;
using Durably.Postgres;
using Durably.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>Adds Durably to an Aspire service project: the store from the connection string the app host provides, the worker, health checks and telemetry.</summary>
public static class DurablyAspireExtensions
{
    private const string SettingsSection = "Aspire:Durably";

    /// <summary>Adds Durably over a SQLite journal whose path is the connection string <c>ConnectionStrings:{connectionName}</c>.</summary>
    /// <remarks>
    /// <para>Also reads the runtime options from the <c>"Durably"</c> section (as <c>builder.AddDurably()</c> does, validated at
    /// start), the integration's settings from <c>Aspire:Durably</c> (<see cref="DurablyAspireSettings"/>), registers the
    /// <c>durably-store</c> and <c>durably-worker</c> health checks and adds the <c>Durably</c> activity source and meter to
    /// OpenTelemetry (the exporters are the service defaults' choice, as in every Aspire integration).</para>
    /// </remarks>
    /// <param name="builder">The host application builder.</param>
    /// <param name="connectionName">The name of the connection string. Default <c>"durably"</c>.</param>
    /// <param name="configure">Changes the settings after they were read from configuration.</param>
    /// <param name="configureStore">Changes the store's options (as in <c>UseSqlite</c>).</param>
    /// <returns>A builder to register workflows.</returns>
    /// <exception cref="InvalidOperationException">There is no connection string; the message names the key to set.</exception>
    public static DurablyBuilder AddDurablySqlite(this IHostApplicationBuilder builder, string connectionName = "durably", Action<DurablyAspireSettings>? configure = null,
        Func<SqliteJournalStoreOptions, SqliteJournalStoreOptions>? configureStore = null)
    {
        var (durably, settings) = AddDurablyCore(builder, connectionName, configure);
        return durably.UseSqlite(SqlitePath(settings.ConnectionString!, connectionName), configureStore);
    }

    /// <summary>Adds Durably over PostgreSQL with the connection string <c>ConnectionStrings:{connectionName}</c> (an Aspire PostgreSQL database resource provides it).</summary>
    /// <remarks>As <see cref="AddDurablySqlite"/>; the schema is created or updated at first start (<c>CreateOrUpdate</c>). Every
    /// replica of the service is a worker with its own id (machine and process), sharing the runs through leases.</remarks>
    /// <param name="builder">The host application builder.</param>
    /// <param name="connectionName">The name of the connection string. Default <c>"durably"</c>.</param>
    /// <param name="configure">Changes the settings after they were read from configuration.</param>
    /// <param name="configureStore">Changes the store's options (as in <c>UsePostgres</c>: the schema, the schema mode).</param>
    /// <returns>A builder to register workflows.</returns>
    /// <exception cref="InvalidOperationException">There is no connection string; the message names the key to set.</exception>
    public static DurablyBuilder AddDurablyPostgres(this IHostApplicationBuilder builder, string connectionName = "durably", Action<DurablyAspireSettings>? configure = null,
        Func<PostgresJournalStoreOptions, PostgresJournalStoreOptions>? configureStore = null)
    {
        var (durably, settings) = AddDurablyCore(builder, connectionName, configure);
        return durably.UsePostgres(settings.ConnectionString!, configureStore);
    }

    private static (DurablyBuilder Builder, DurablyAspireSettings Settings) AddDurablyCore(IHostApplicationBuilder builder, string connectionName, Action<DurablyAspireSettings>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);
        var section = builder.Configuration.GetSection(SettingsSection);
        var settings = new DurablyAspireSettings
        {
            ConnectionString = section[nameof(DurablyAspireSettings.ConnectionString)] ?? builder.Configuration.GetConnectionString(connectionName),
            DisableHealthChecks = Flag(section, nameof(DurablyAspireSettings.DisableHealthChecks)),
            DisableTracing = Flag(section, nameof(DurablyAspireSettings.DisableTracing)),
            DisableMetrics = Flag(section, nameof(DurablyAspireSettings.DisableMetrics)),
        };
        configure?.Invoke(settings);
        if (string.IsNullOrWhiteSpace(settings.ConnectionString))
        {
            throw new InvalidOperationException(
                $"Durably has no connection string named '{connectionName}'. Reference the database from the app host (.WithReference(...)), "
                + $"or set ConnectionStrings:{connectionName} (or {SettingsSection}:ConnectionString) in configuration.");
        }

        var durably = builder.AddDurably();
        if (!settings.DisableHealthChecks)
        {
            durably.AddHealthChecks();
        }

        if (!settings.DisableTracing)
        {
            builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddSource(DurablyTelemetry.Name));
        }

        if (!settings.DisableMetrics)
        {
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(DurablyTelemetry.Name));
        }

        return (durably, settings);
    }

    private static bool Flag(IConfiguration section, string key) => section[key] is { } value
        && (bool.TryParse(value, out var flag) ? flag : throw new InvalidOperationException($"{SettingsSection}:{key} is '{value}', which is not true or false."));

    // A SQLite "connection string" from an app host: a bare path, or "Data Source=path" with other keys ignored.
    private static string SqlitePath(string connectionString, string connectionName)
    {
        if (!connectionString.Contains('=', StringComparison.Ordinal))
        {
            return connectionString;
        }

        var parts = new DbConnectionStringBuilder { ConnectionString = connectionString };
        foreach (var key in new[] { "Data Source", "DataSource", "Filename" })
        {
            if (parts.TryGetValue(key, out var value) && value is string { Length: > 0 } path)
            {
                return path;
            }
        }

        throw new InvalidOperationException($"The connection string '{connectionName}' names no SQLite file: give a path, or 'Data Source=agent.db'.");
    }
}
