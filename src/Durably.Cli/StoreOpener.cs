using Durably.Sqlite;
using Durably.Storage;

namespace Durably.Cli;

// Opens the store that --store names. Every command goes through here, so a new kind of store is one more case.
internal static class StoreOpener
{
    public enum StoreKind
    {
        Sqlite,
        Postgres,
    }

    public static StoreKind Classify(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        var text = location.Trim();
        if (text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return StoreKind.Postgres;
        }

        // An Npgsql key-value connection string: "Host=db;Database=durably;Username=...".
        if (text.Split(';').Any(part => part.TrimStart().StartsWith("Host=", StringComparison.OrdinalIgnoreCase) || part.TrimStart().StartsWith("Server=", StringComparison.OrdinalIgnoreCase)))
        {
            return StoreKind.Postgres;
        }

        return StoreKind.Sqlite;
    }

    // Opens an existing store; durably never creates one, so a mistyped path is reported instead of becoming an empty store.
    public static async Task<IJournalStore> OpenAsync(string? location, TimeSpan busyTimeout, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(location))
        {
            throw new CliException(ExitCodes.Usage, "No store given. Pass --store PATH for a SQLite journal file (or a PostgreSQL connection string), or set the DURABLY_STORE environment variable.");
        }

        switch (Classify(location))
        {
            case StoreKind.Postgres:
                throw new CliException(ExitCodes.BadInput, "This build of durably cannot open PostgreSQL stores yet: PostgreSQL support comes with the Durably.Postgres package. Use a SQLite journal file for --store, or update durably once Durably.Postgres is released.");
            default:
                return await SqliteJournalStore.OpenAsync(
                    new SqliteJournalStoreOptions { Path = location, CreateIfMissing = false, BusyTimeout = busyTimeout },
                    cancellationToken);
        }
    }
}
