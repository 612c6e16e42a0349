namespace Durably.Postgres;

/// <summary>Says what a <see cref="PostgresJournalStore"/> does with its schema when it opens.</summary>
public enum PostgresSchemaMode
{
    /// <summary>
    /// Checks that the schema exists with the tables, columns and indexes this version needs, and fails with a
    /// <see cref="Storage.JournalStoreException"/> that lists what is missing or different (a
    /// <see cref="Storage.JournalStoreNotFoundException"/> when the schema holds no Durably tables at all). Changes nothing.
    /// For production, where the schema is applied by a migration step (see <see cref="PostgresJournalStore.GetSchemaScript"/>).
    /// </summary>
    Validate,

    /// <summary>
    /// Creates the schema and whatever of it is missing, upgrades an older version, then validates it. Several
    /// workers may open at once: an advisory lock makes them take turns. For development and tests, or for
    /// deployments whose database user may run DDL.
    /// </summary>
    CreateOrUpdate,
}
