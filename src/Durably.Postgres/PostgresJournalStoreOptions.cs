using Durably.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Durably.Postgres;

/// <summary>Configures a <see cref="PostgresJournalStore"/>.</summary>
public sealed class PostgresJournalStoreOptions
{
    /// <summary>Gets the Npgsql connection string, for example <c>Host=db;Database=app;Username=worker;Password=...</c>. Required unless <see cref="DataSource"/> is set.</summary>
    /// <remarks>When the string does not set <c>Max Auto Prepare</c>, the store sets it to 16 so its few statements are parsed and planned once per connection.</remarks>
    public string? ConnectionString { get; init; }

    /// <summary>Gets a data source to use instead of <see cref="ConnectionString"/>. The caller owns it; the store does not dispose it. Default <see langword="null"/>.</summary>
    public NpgsqlDataSource? DataSource { get; init; }

    /// <summary>Gets the PostgreSQL schema that holds the store's tables. Default <c>durably</c>.</summary>
    /// <remarks>Lower-case letters, digits and underscores, starting with a letter or underscore, at most 48 characters. Several independent stores can share a database in different schemas.</remarks>
    public string Schema { get; init; } = "durably";

    /// <summary>Gets whether the store creates its schema or only checks it when it opens. Required: there is no default, so production code says <see cref="PostgresSchemaMode.Validate"/> on purpose.</summary>
    public required PostgresSchemaMode SchemaMode { get; init; }

    /// <summary>Gets the largest serialized journal entry or signal payload accepted, in bytes. Default 4 MiB.</summary>
    public int MaxEntryBytes { get; init; } = StoreLimits.DefaultMaxEntryBytes;

    /// <summary>Gets how payloads larger than a threshold are kept outside the entry rows, or <see langword="null"/> (the default) to keep every payload in its row.</summary>
    /// <remarks>When set, larger payloads go to the side table <c>payload_blobs</c>, content-addressed by SHA-256 and written in the same
    /// transaction as the append, so a commit never refers to a blob that is not there. <see cref="PayloadBlobOptions.Store"/> is not used:
    /// the blobs live in the database, backed up and replicated with it. Journals that refer to blobs are read the same way whether or not this is set.</remarks>
    public PayloadBlobOptions? PayloadBlobs { get; init; }

    /// <summary>Gets the most append calls committed in one transaction by the group-commit writer. Default 512.</summary>
    public int MaxBatchSize { get; init; } = 512;

    /// <summary>Gets how long the store keeps trying to reach the server to learn whether a commit whose connection dropped happened. Default 30 seconds.</summary>
    /// <remarks>When the server cannot be reached in that time, the append fails with a <see cref="JournalStoreException"/> saying its outcome is unknown; read the run to find out.</remarks>
    public TimeSpan InDoubtResolutionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets how often the wake-up listener checks that its idle connection is alive. Default 30 seconds.</summary>
    public TimeSpan ListenerKeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets the logger for commit recovery, listener reconnects and schema changes. Default none.</summary>
    public ILogger? Logger { get; init; }

    // Runs on the writer's connection right after a batch's COMMIT was acknowledged, to simulate losing the
    // connection before the acknowledgement arrived (tests only).
    internal Func<NpgsqlConnection, Task>? AfterCommitForTesting { get; init; }
}
