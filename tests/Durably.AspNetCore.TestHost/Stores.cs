using Durably.Postgres;
using Durably.Sqlite;
using Durably.Storage;

namespace Durably.AspNetCore.TestHost;

// Opens the store a test names: sqlite:PATH (created if missing) or pg:SCHEMA on the server in DURABLY_POSTGRES (created or updated).
public static class Stores
{
    public static async Task<IJournalStore> OpenAsync(string name)
    {
        if (name.StartsWith("sqlite:", StringComparison.Ordinal))
        {
            return await SqliteJournalStore.OpenAsync(name["sqlite:".Length..]);
        }

        if (name.StartsWith("pg:", StringComparison.Ordinal))
        {
            var connection = Environment.GetEnvironmentVariable("DURABLY_POSTGRES")
                ?? throw new InvalidOperationException("DURABLY_POSTGRES is not set: run the PostgreSQL tests through scripts/with-postgres.sh.");
            return await PostgresJournalStore.OpenAsync(new PostgresJournalStoreOptions { ConnectionString = connection, Schema = name["pg:".Length..], SchemaMode = PostgresSchemaMode.CreateOrUpdate });
        }

        throw new ArgumentException($"'{name}' names no store: use sqlite:PATH or pg:SCHEMA.", nameof(name));
    }
}
