using Durably.Postgres;
using Durably.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Durably.Hosting;

// The "Durably" configuration section: which keys exist and what they become.
internal static class DurablyConfiguration
{
    public const string Sqlite = "Sqlite";

    public const string Postgres = "Postgres";

    public static DurableRuntimeOptions ReadRuntime(ConfigurationReader read)
    {
        var defaults = new DurableRuntimeOptions();
        var retry = read.Section(nameof(DurableRuntimeOptions.DefaultRetry));
        var defaultRetry = defaults.DefaultRetry;
        var options = new DurableRuntimeOptions
        {
            WorkerId = read.String(nameof(DurableRuntimeOptions.WorkerId)) ?? defaults.WorkerId,
            MaxConcurrentRuns = read.Int(nameof(DurableRuntimeOptions.MaxConcurrentRuns)) ?? defaults.MaxConcurrentRuns,
            LeaseDuration = read.TimeSpan(nameof(DurableRuntimeOptions.LeaseDuration)) ?? defaults.LeaseDuration,
            PollInterval = read.TimeSpan(nameof(DurableRuntimeOptions.PollInterval)) ?? defaults.PollInterval,
            MaxInMemoryWait = read.TimeSpan(nameof(DurableRuntimeOptions.MaxInMemoryWait)) ?? defaults.MaxInMemoryWait,
            Checkpoint = read.Enum<CheckpointPolicy>(nameof(DurableRuntimeOptions.Checkpoint)) ?? defaults.Checkpoint,
            AdaptiveCostFactor = read.Double(nameof(DurableRuntimeOptions.AdaptiveCostFactor)) ?? defaults.AdaptiveCostFactor,
            DefaultRetry = new RetryPolicy
            {
                MaxAttempts = retry.Int(nameof(RetryPolicy.MaxAttempts)) ?? defaultRetry.MaxAttempts,
                InitialDelay = retry.TimeSpan(nameof(RetryPolicy.InitialDelay)) ?? defaultRetry.InitialDelay,
                BackoffCoefficient = retry.Double(nameof(RetryPolicy.BackoffCoefficient)) ?? defaultRetry.BackoffCoefficient,
                MaxDelay = retry.TimeSpan(nameof(RetryPolicy.MaxDelay)) ?? defaultRetry.MaxDelay,
                Jitter = retry.Double(nameof(RetryPolicy.Jitter)) ?? defaultRetry.Jitter,
            },
        };
        read.Errors.AddRange(retry.Errors);
        return options;
    }

    public static SqliteJournalStoreOptions ReadSqlite(ConfigurationReader read)
    {
        var defaults = new SqliteJournalStoreOptions { Path = "" };
        return new SqliteJournalStoreOptions
        {
            Path = read.String(nameof(SqliteJournalStoreOptions.Path)) ?? "",
            Durability = read.Enum<SqliteDurability>(nameof(SqliteJournalStoreOptions.Durability)) ?? defaults.Durability,
            CreateIfMissing = read.Bool(nameof(SqliteJournalStoreOptions.CreateIfMissing)) ?? defaults.CreateIfMissing,
            MaxEntryBytes = read.Int(nameof(SqliteJournalStoreOptions.MaxEntryBytes)) ?? defaults.MaxEntryBytes,
            BusyTimeout = read.TimeSpan(nameof(SqliteJournalStoreOptions.BusyTimeout)) ?? defaults.BusyTimeout,
        };
    }

    // ConnectionString, or ConnectionStringName: the name of an entry of the root's ConnectionStrings section (as
    // .NET Aspire and most hosts provide connection strings).
    public static PostgresJournalStoreOptions ReadPostgres(ConfigurationReader read, IConfiguration? root, ILogger? logger)
    {
        var defaults = new PostgresJournalStoreOptions { SchemaMode = PostgresSchemaMode.CreateOrUpdate };
        var connectionString = read.String(nameof(PostgresJournalStoreOptions.ConnectionString));
        var name = read.String("ConnectionStringName");
        if (connectionString is not null && name is not null)
        {
            read.Errors.Add($"Both {read.Key("ConnectionString")} and {read.Key("ConnectionStringName")} are set. Set one of them.");
        }
        else if (name is not null)
        {
            connectionString = root?.GetConnectionString(name);
            if (connectionString is null)
            {
                read.Errors.Add($"{read.Key("ConnectionStringName")} is '{name}', but there is no connection string ConnectionStrings:{name}. Add it (appsettings.json, an environment variable ConnectionStrings__{name}, or user secrets) or fix the name.");
            }
        }

        if (connectionString is not null)
        {
            try
            {
                connectionString = PostgresConnectionString.ToNpgsql(connectionString);
            }
            catch (ArgumentException ex)
            {
                read.Errors.Add($"{read.Key(name is null ? "ConnectionString" : "ConnectionStringName")} does not hold a valid PostgreSQL connection string: {ex.Message}");
            }
        }

        return new PostgresJournalStoreOptions
        {
            ConnectionString = connectionString,
            Schema = read.String(nameof(PostgresJournalStoreOptions.Schema)) ?? defaults.Schema,
            SchemaMode = read.Enum<PostgresSchemaMode>(nameof(PostgresJournalStoreOptions.SchemaMode)) ?? PostgresSchemaMode.CreateOrUpdate,
            MaxEntryBytes = read.Int(nameof(PostgresJournalStoreOptions.MaxEntryBytes)) ?? defaults.MaxEntryBytes,
            MaxBatchSize = read.Int(nameof(PostgresJournalStoreOptions.MaxBatchSize)) ?? defaults.MaxBatchSize,
            InDoubtResolutionTimeout = read.TimeSpan(nameof(PostgresJournalStoreOptions.InDoubtResolutionTimeout)) ?? defaults.InDoubtResolutionTimeout,
            ListenerKeepAlive = read.TimeSpan(nameof(PostgresJournalStoreOptions.ListenerKeepAlive)) ?? defaults.ListenerKeepAlive,
            Logger = logger,
        };
    }

    public static void ThrowIfErrors<TOptions>(ConfigurationReader read)
    {
        if (read.Errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(TOptions), read.Errors);
        }
    }
}
