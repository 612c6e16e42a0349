using System.Text.RegularExpressions;
using Durably.Journal;
using Durably.Storage;
using Npgsql;

namespace Durably.Postgres;

// The store's tables as code: the DDL that creates them, and the description that Validate compares
// the database against. A test opens a schema made by CreateOrUpdate with Validate, so the two agree.
//
// Two choices for append throughput, where every append updates its run's row and inserts its entries:
// - runs leaves half of each page free (fillfactor 50), so that an append's update of next_seq fits on the
//   same page and is a HOT update that touches none of the table's five indexes;
// - entries.run has no foreign key: entries are inserted only by the statement that just locked and updated
//   their run's row, so the check could never fail, and it cost a fifth of an append's time on the server.
internal static partial class PostgresSchema
{
    public const int Version = 1;

    private const string Timestamp = "timestamp with time zone";

    private static readonly (string Table, string Column, string Type, bool Nullable)[] Columns =
    [
        ("schema_info", "version", "integer", false),
        ("runs", "id", "bigint", false),
        ("runs", "run_id", "text", false),
        ("runs", "workflow", "text", false),
        ("runs", "status", "smallint", false),
        ("runs", "created_at", Timestamp, false),
        ("runs", "updated_at", Timestamp, false),
        ("runs", "next_seq", "bigint", false),
        ("runs", "wake_at", Timestamp, true),
        ("runs", "status_detail", "text", true),
        ("runs", "lease_owner", "text", true),
        ("runs", "lease_epoch", "bigint", false),
        ("runs", "lease_expires_at", Timestamp, true),
        ("entries", "run", "bigint", false),
        ("entries", "seq", "bigint", false),
        ("entries", "data", "bytea", false),
        ("signals", "id", "bigint", false),
        ("signals", "run", "bigint", false),
        ("signals", "name", "text", false),
        ("signals", "encoding", "text", true),
        ("signals", "payload", "bytea", true),
        ("signals", "sender", "text", true),
        ("signals", "delivered_at", Timestamp, false),

        // Queues (IRunQueueStore), added to version 1 by CreateOrUpdate.
        ("runs", "queue", "text", true),
        ("runs", "queue_key", "text", true),
        ("runs", "priority", "integer", false),
        ("runs", "first_dequeued_at", Timestamp, true),
        ("queues", "name", "text", false),
        ("queues", "max_concurrency", "integer", true),
        ("queues", "max_per_key", "integer", true),
        ("queues", "runs_per_minute", "integer", true),
        ("queues", "rate_per_key", "boolean", false),
        ("queues", "paused", "boolean", false),
        ("queues", "updated_at", Timestamp, false),
        ("queues", "tokens_per_minute", "bigint", true),
        ("queue_tokens", "queue", "text", false),
        ("queue_tokens", "queue_key", "text", true),
        ("queue_tokens", "at", Timestamp, false),
        ("queue_tokens", "tokens", "bigint", false),
    ];

    // Unique indexes carry the store's guarantees (one run per id, one entry per run and sequence); the
    // others keep claims, listings and signal reads fast.
    private static readonly (string Name, bool Unique)[] Indexes =
    [
        ("runs_pkey", true),
        ("runs_run_id_key", true),
        ("runs_unfinished", false),
        ("runs_status", false),
        ("runs_workflow", false),
        ("entries_pkey", true),
        ("signals_pkey", true),
        ("signals_run", false),
        ("queues_pkey", true),
        ("runs_queued", false),
        ("runs_queue_window", false),
        ("runs_queue_started", false),
        ("queue_tokens_window", false),
    ];

    public static void CheckName(string schema)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(schema);
        if (!SchemaName().IsMatch(schema))
        {
            throw new ArgumentException($"The schema name '{schema}' is not allowed: use 1 to 48 lower-case letters, digits and underscores, starting with a letter or underscore.", nameof(schema));
        }
    }

    public static string CreateScript(string s) => $"""
        CREATE SCHEMA IF NOT EXISTS {s};
        CREATE TABLE IF NOT EXISTS {s}.schema_info(
            version integer NOT NULL);
        CREATE TABLE IF NOT EXISTS {s}.runs(
            id bigint GENERATED ALWAYS AS IDENTITY,
            run_id text NOT NULL,
            workflow text NOT NULL,
            status smallint NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            next_seq bigint NOT NULL,
            wake_at timestamptz,
            status_detail text,
            lease_owner text,
            lease_epoch bigint NOT NULL DEFAULT 0,
            lease_expires_at timestamptz,
            CONSTRAINT runs_pkey PRIMARY KEY (id),
            CONSTRAINT runs_run_id_key UNIQUE (run_id))
            WITH (fillfactor = 50);
        CREATE INDEX IF NOT EXISTS runs_unfinished ON {s}.runs(id) WHERE status < 3;
        CREATE INDEX IF NOT EXISTS runs_status ON {s}.runs(status, id);
        CREATE INDEX IF NOT EXISTS runs_workflow ON {s}.runs(workflow, id);
        CREATE TABLE IF NOT EXISTS {s}.entries(
            run bigint NOT NULL,
            seq bigint NOT NULL,
            data bytea NOT NULL,
            CONSTRAINT entries_pkey PRIMARY KEY (run, seq));
        CREATE TABLE IF NOT EXISTS {s}.signals(
            id bigint GENERATED ALWAYS AS IDENTITY,
            run bigint NOT NULL,
            name text NOT NULL,
            encoding text,
            payload bytea,
            sender text,
            delivered_at timestamptz NOT NULL,
            CONSTRAINT signals_pkey PRIMARY KEY (id),
            CONSTRAINT signals_run_fkey FOREIGN KEY (run) REFERENCES {s}.runs(id) ON DELETE CASCADE);
        CREATE INDEX IF NOT EXISTS signals_run ON {s}.signals(run, id);
        {SchedulesScript(s)}
        INSERT INTO {s}.schema_info(version) SELECT {Version} WHERE NOT EXISTS (SELECT 1 FROM {s}.schema_info);
        {QueueScript(s)}
        """ + BlobTablesScript(s);

    // Payload blobs (large payloads kept outside the entry rows, PostgresJournalStore.Blobs.cs): the blobs by hash, and one row
    // per run and blob it refers to, written in the transaction of the append; the references go with their run. Added
    // without changing the schema version; CreateOrUpdate adds them to an existing schema, and a store configured to
    // offload payloads checks for them at open.
    public static string BlobTablesScript(string s) => $"""

        CREATE TABLE IF NOT EXISTS {s}.payload_blobs(
            hash text NOT NULL,
            data bytea NOT NULL,
            used_at timestamptz NOT NULL,
            CONSTRAINT payload_blobs_pkey PRIMARY KEY (hash));
        CREATE TABLE IF NOT EXISTS {s}.blob_refs(
            run bigint NOT NULL,
            hash text NOT NULL,
            CONSTRAINT blob_refs_run_fkey FOREIGN KEY (run) REFERENCES {s}.runs(id) ON DELETE CASCADE);
        CREATE INDEX IF NOT EXISTS blob_refs_run ON {s}.blob_refs(run);
        CREATE INDEX IF NOT EXISTS blob_refs_hash ON {s}.blob_refs(hash);
        """;

    // Queues (IRunQueueStore): columns, table and indexes added to schema version 1 without changing it. The columns are added
    // only when missing (ALTER TABLE locks the table even when IF NOT EXISTS finds the column); every index holds queued runs only.
    // queue_tokens holds the model tokens runs of token-limited queues used in about the last minute (QueueDefinition.TokensPerMinute).
    private static string QueueScript(string s) => $"""
        DO $queues$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = '{s}' AND table_name = 'runs' AND column_name = 'first_dequeued_at') THEN
                ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS queue text, ADD COLUMN IF NOT EXISTS queue_key text,
                    ADD COLUMN IF NOT EXISTS priority integer NOT NULL DEFAULT 0, ADD COLUMN IF NOT EXISTS first_dequeued_at timestamptz;
            END IF;
        END
        $queues$;
        CREATE TABLE IF NOT EXISTS {s}.queues(
            name text NOT NULL,
            max_concurrency integer,
            max_per_key integer,
            runs_per_minute integer,
            rate_per_key boolean NOT NULL DEFAULT false,
            paused boolean NOT NULL DEFAULT false,
            updated_at timestamptz NOT NULL,
            tokens_per_minute bigint,
            CONSTRAINT queues_pkey PRIMARY KEY (name));
        DO $tokens$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = '{s}' AND table_name = 'queues' AND column_name = 'tokens_per_minute') THEN
                ALTER TABLE {s}.queues ADD COLUMN IF NOT EXISTS tokens_per_minute bigint;
            END IF;
        END
        $tokens$;
        CREATE TABLE IF NOT EXISTS {s}.queue_tokens(
            queue text NOT NULL,
            queue_key text,
            at timestamptz NOT NULL,
            tokens bigint NOT NULL);
        CREATE INDEX IF NOT EXISTS queue_tokens_window ON {s}.queue_tokens(queue, at);
        CREATE INDEX IF NOT EXISTS runs_queued ON {s}.runs(queue, queue_key) WHERE queue IS NOT NULL AND status < 3;
        CREATE INDEX IF NOT EXISTS runs_queue_window ON {s}.runs(queue, first_dequeued_at) WHERE first_dequeued_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS runs_queue_started ON {s}.runs(queue, queue_key, created_at) WHERE queue IS NOT NULL;
        """;

    // Schedules (IScheduleStore), added after version 1 without changing it: one row per schedule, the record as JSON, and
    // when it is next due (NULL when paused). Created by CreateOrUpdate like the rest (IF NOT EXISTS); Validate does not
    // require it, so a schema made before schedules still opens, and a schedule verb on it names the missing table.
    private static string SchedulesScript(string s) => $"""
        CREATE TABLE IF NOT EXISTS {s}.schedules(
            schedule_id text NOT NULL,
            version bigint NOT NULL,
            due_at timestamptz,
            data bytea NOT NULL,
            CONSTRAINT schedules_pkey PRIMARY KEY (schedule_id));
        CREATE INDEX IF NOT EXISTS schedules_due ON {s}.schedules(due_at) WHERE due_at IS NOT NULL;
        """;

    public static async Task InitializeAsync(NpgsqlDataSource dataSource, string schema, PostgresSchemaMode mode, string location, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // Workers starting together take turns: one creates, the others then find the schema complete.
        // CREATE ... IF NOT EXISTS alone is not enough: two sessions can both find a table missing.
        var lockSql = mode == PostgresSchemaMode.CreateOrUpdate
            ? "SELECT pg_advisory_xact_lock(hashtextextended('durably.schema.' || $1, 0))"
            : "SELECT pg_advisory_xact_lock_shared(hashtextextended('durably.schema.' || $1, 0))";
        await using (var command = new NpgsqlCommand(lockSql, connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = schema });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (mode == PostgresSchemaMode.CreateOrUpdate)
        {
            var existing = await ReadVersionAsync(connection, schema, cancellationToken).ConfigureAwait(false);
            CheckNotNewer(existing, schema, location);
            await using var create = new NpgsqlCommand(CreateScript(schema), connection, transaction);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);

            // Upgrades from older versions go here, one step per version, as the schema evolves.
        }

        var version = await ReadVersionAsync(connection, schema, cancellationToken).ConfigureAwait(false);
        var problems = await CompareAsync(connection, schema, cancellationToken).ConfigureAwait(false);
        if (version is null && problems.Count == Columns.Length + Indexes.Length)
        {
            throw new JournalStoreNotFoundException($"The schema '{schema}' in {location} holds no Durably tables. Create it by opening the store once with SchemaMode = CreateOrUpdate, or apply the script from PostgresJournalStore.GetSchemaScript(\"{schema}\") in your migrations.") { StoreLocation = location };
        }

        CheckNotNewer(version, schema, location);
        if (version is null || version < Version)
        {
            problems.Insert(0, $"schema version is {(version is null ? "missing" : version.ToString())}, this version of Durably needs {Version}");
        }

        if (problems.Count > 0)
        {
            throw new JournalStoreException($"The schema '{schema}' in {location} is not the Durably schema this version needs: {string.Join("; ", problems)}. Open the store with SchemaMode = CreateOrUpdate to create or upgrade it, or point it at another schema.") { StoreLocation = location };
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    // A store that offloads payloads needs the blob tables, which a schema made before them (or validated from an older script) lacks.
    public static async Task CheckBlobTablesAsync(NpgsqlDataSource dataSource, string schema, string location, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = schema + ".payload_blobs" });
        command.Parameters.Add(new NpgsqlParameter { Value = schema + ".blob_refs" });
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
        {
            throw new JournalStoreException($"The schema '{schema}' in {location} lacks the tables payload_blobs and blob_refs that offloading payloads (PayloadBlobs) needs. Open the store once with SchemaMode = CreateOrUpdate, or apply the current script from PostgresJournalStore.GetSchemaScript(\"{schema}\").") { StoreLocation = location };
        }
    }

    private static void CheckNotNewer(int? version, string schema, string location)
    {
        if (version > Version)
        {
            throw new JournalFormatException($"The schema '{schema}' in {location} has version {version}; this version of Durably works with version {Version}. Upgrade Durably.") { FormatVersion = version.Value };
        }
    }

    private static async Task<int?> ReadVersionAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = schema + ".schema_info" });
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
        {
            return null;
        }

        await using var read = new NpgsqlCommand($"SELECT max(version) FROM {schema}.schema_info", connection);
        return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as int?;
    }

    private static async Task<List<string>> CompareAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        var actual = new Dictionary<(string, string), (string Type, bool Nullable)>();
        await using (var command = new NpgsqlCommand("SELECT table_name, column_name, data_type, is_nullable = 'YES' FROM information_schema.columns WHERE table_schema = $1", connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = schema });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                actual[(reader.GetString(0), reader.GetString(1))] = (reader.GetString(2), reader.GetBoolean(3));
            }
        }

        var indexes = new Dictionary<string, bool>();
        await using (var command = new NpgsqlCommand("SELECT c.relname, i.indisunique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1", connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = schema });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                indexes[reader.GetString(0)] = reader.GetBoolean(1);
            }
        }

        var problems = new List<string>();
        foreach (var (table, column, type, nullable) in Columns)
        {
            if (!actual.TryGetValue((table, column), out var found))
            {
                problems.Add($"column {table}.{column} is missing");
            }
            else if (found.Type != type || found.Nullable != nullable)
            {
                problems.Add($"column {table}.{column} is {Describe(found.Type, found.Nullable)}, expected {Describe(type, nullable)}");
            }
        }

        foreach (var (name, unique) in Indexes)
        {
            if (!indexes.TryGetValue(name, out var isUnique))
            {
                problems.Add($"index {name} is missing");
            }
            else if (isUnique != unique)
            {
                problems.Add($"index {name} is {(isUnique ? "unique" : "not unique")}, expected {(unique ? "unique" : "not unique")}");
            }
        }

        return problems;
    }

    private static string Describe(string type, bool nullable) => nullable ? type + " NULL" : type + " NOT NULL";

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,47}$")]
    private static partial Regex SchemaName();
}
