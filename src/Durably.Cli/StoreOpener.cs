using Durably.Postgres;
using Durably.Sqlite;
using Durably.Storage;

namespace Durably.Cli;

// Opens the store that --store names. Every command goes through here, so a new kind of store is one more case.
internal static class StoreOpener
{
    // Opens an existing store; durably never creates one, so a mistyped path is reported instead of becoming an empty
    // store, and a PostgreSQL schema is only validated, never created or changed.
    public static async Task<IJournalStore> OpenAsync(string? location, string schema, TimeSpan busyTimeout, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(location))
        {
            throw new CliException(ExitCodes.Usage, "No store given. Pass --store PATH for a SQLite journal file (or a PostgreSQL connection string), or set the DURABLY_STORE environment variable.");
        }

        if (!PostgresConnectionString.IsPostgres(location))
        {
            return await SqliteJournalStore.OpenAsync(
                new SqliteJournalStoreOptions { Path = location, CreateIfMissing = false, BusyTimeout = busyTimeout },
                cancellationToken);
        }

        string connectionString;
        try
        {
            connectionString = PostgresConnectionString.ToNpgsql(location);
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ExitCodes.BadInput, $"--store looks like a PostgreSQL connection but cannot be used: {WithoutParameterName(ex)} Give a URL (postgres://user:password@host:port/database) or an Npgsql connection string (Host=...;Database=...;Username=...).");
        }

        try
        {
            return await PostgresJournalStore.OpenAsync(
                new PostgresJournalStoreOptions { ConnectionString = connectionString, Schema = schema, SchemaMode = PostgresSchemaMode.Validate },
                cancellationToken);
        }
        catch (ArgumentException ex) when (ex.ParamName == "schema")
        {
            throw new CliException(ExitCodes.BadInput, "--schema: " + WithoutParameterName(ex));
        }
        catch (JournalStoreNotFoundException ex)
        {
            throw new CliException(ExitCodes.StoreMissing, $"{ex.Message} durably opens PostgreSQL stores in Validate mode: it never creates or changes a schema. If the store is in another schema, pass --schema NAME.");
        }
    }

    private static string WithoutParameterName(ArgumentException ex) => ex.Message.Split(" (Parameter '", 2)[0];
}
