using Durably.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Durably.Postgres;

/// <summary>Stores run journals in PostgreSQL, shared by several worker processes on several machines.</summary>
/// <remarks>
/// <para>Appends from many runs are queued and written by one writer per store that commits everything pending in
/// one transaction and one round-trip (group commit), then completes every waiter; an append completes only after
/// the server acknowledged its COMMIT. One call's appends are written together or not at all, and a call that
/// fails (a concurrency conflict, a lost lease) does not fail the other calls in its transaction.</para>
/// <para>Workers lease runs with <see cref="ClaimRunsAsync"/> (<c>FOR UPDATE SKIP LOCKED</c>). Lease times are
/// measured by the database clock, so workers' clocks need not agree. Every claim increases the run's lease
/// epoch, and an append carrying <see cref="RunAppend.LeaseEpoch"/> is checked against it in the same
/// transaction: a worker that lost its lease gets a <see cref="LeaseLostException"/> and nothing is written.</para>
/// <para>If the connection drops while a COMMIT is in flight, the store does not guess: it reads the entries back
/// by run id and sequence on a new connection, reports success for those that landed with the same bytes, and
/// writes again only those that did not (the write is conditional, so it cannot duplicate an entry).</para>
/// <para><see cref="DeliverSignalAsync"/> and a new run send a <c>NOTIFY</c>; workers wait for it with
/// <see cref="WaitForWakeupAsync"/> (<see cref="IRunWakeupSource"/>, which a <see cref="DurableRuntime"/> awaits next to its poll delay).
/// Timers falling due are not notified: the wait's timeout is the polling fallback.</para>
/// <para>Thread-safe. Dispose it to commit what is queued and close its connections.</para>
/// </remarks>
public sealed partial class PostgresJournalStore : IJournalStore, IRunWakeupSource, IJournalStoreHealth
{
    private readonly PostgresJournalStoreOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly string _location;
    private readonly string _schema;
    private readonly ILogger _logger;
    private readonly Sql _sql;
    private readonly GroupCommitWriter<AppendItem> _writes;
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    private PostgresJournalStore(PostgresJournalStoreOptions options, NpgsqlDataSource dataSource, bool ownsDataSource, string location)
    {
        _options = options;
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _location = location;
        _schema = options.Schema;
        _logger = options.Logger ?? NullLogger.Instance;
        _sql = new Sql(options.Schema);
        _writes = new GroupCommitWriter<AppendItem>(new BatchTarget(this), GroupCommitPolicy.Bounded(options.MaxBatchSize, MaxBatchBytes), location);
    }

    /// <summary>Gets where the store is, as <c>host:port/database (schema s)</c>, for messages and diagnostics.</summary>
    public string Location => _location;

    /// <summary>Opens a store on <paramref name="connectionString"/> in the default schema <c>durably</c>.</summary>
    /// <inheritdoc cref="OpenAsync(PostgresJournalStoreOptions, CancellationToken)"/>
    public static Task<PostgresJournalStore> OpenAsync(string connectionString, PostgresSchemaMode schemaMode, CancellationToken cancellationToken = default)
        => OpenAsync(new PostgresJournalStoreOptions { ConnectionString = connectionString, SchemaMode = schemaMode }, cancellationToken);

    /// <summary>Opens a store, creating its schema or checking it according to <see cref="PostgresJournalStoreOptions.SchemaMode"/>.</summary>
    /// <exception cref="ArgumentException">The options are incomplete or the schema name is not allowed.</exception>
    /// <exception cref="JournalStoreNotFoundException">The mode is <see cref="PostgresSchemaMode.Validate"/> and the schema holds no Durably tables.</exception>
    /// <exception cref="JournalStoreException">The server cannot be reached (the message names the host), or the schema is different from what this version needs.</exception>
    /// <exception cref="Journal.JournalFormatException">The schema was made by a newer version of Durably.</exception>
    public static async Task<PostgresJournalStore> OpenAsync(PostgresJournalStoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        PostgresSchema.CheckName(options.Schema);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxEntryBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InDoubtResolutionTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ListenerKeepAlive, TimeSpan.Zero);
        if ((options.ConnectionString is null) == (options.DataSource is null))
        {
            throw new ArgumentException("Set exactly one of ConnectionString and DataSource.", nameof(options));
        }

        NpgsqlDataSource dataSource;
        if (options.DataSource is { } given)
        {
            dataSource = given;
        }
        else
        {
            var builder = new NpgsqlDataSourceBuilder(options.ConnectionString);
            if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
            {
                builder.ConnectionStringBuilder.MaxAutoPrepare = 16;
            }

            builder.ConnectionStringBuilder.ApplicationName ??= "Durably";
            dataSource = builder.Build();
        }

        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        var location = $"{settings.Host}:{settings.Port}/{settings.Database ?? settings.Username} (schema {options.Schema})";
        try
        {
            await PostgresSchema.InitializeAsync(dataSource, options.Schema, options.SchemaMode, location, cancellationToken).ConfigureAwait(false);
            if (options.PayloadBlobs is not null)
            {
                options.PayloadBlobs.Validate();
                await PostgresSchema.CheckBlobTablesAsync(dataSource, options.Schema, location, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
        {
            await DisposeOwnedAsync().ConfigureAwait(false);
            throw PostgresErrors.Translate(ex, location, "opening the store");
        }
        catch
        {
            await DisposeOwnedAsync().ConfigureAwait(false);
            throw;
        }

        if (options.SchemaMode == PostgresSchemaMode.CreateOrUpdate && options.Logger is { } logger)
        {
            Log.SchemaReady(logger, options.Schema, location);
        }

        return new PostgresJournalStore(options, dataSource, options.DataSource is null, location);

        async ValueTask DisposeOwnedAsync()
        {
            if (options.DataSource is null)
            {
                await dataSource.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Returns the SQL that creates the store's schema, for applying it in a migration step and opening stores with <see cref="PostgresSchemaMode.Validate"/>.</summary>
    /// <param name="schema">The schema name; default <c>durably</c>.</param>
    /// <exception cref="ArgumentException">The schema name is not allowed.</exception>
    public static string GetSchemaScript(string schema = "durably")
    {
        PostgresSchema.CheckName(schema);
        return PostgresSchema.CreateScript(schema);
    }

    /// <summary>Stops accepting work, commits what is queued, stops listening and closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _writes.DisposeAsync().ConfigureAwait(false);
        await DropConnectionAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_listener is { } listener)
        {
            await listener.ConfigureAwait(false);
        }

        // Let workers blocked in WaitForWakeupAsync return now; their next call finds the store disposed.
        Wake();

        _stopping.Dispose();
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private JournalStoreException Translate(Exception ex, string action) => PostgresErrors.Translate(ex, _location, action);

    // Runs a read or a single-statement write on a pooled connection, translating connection and server errors.
    private async Task<T> RunAsync<T>(string action, Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await work(connection).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresErrors.IsConnectionFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            if (PostgresErrors.IsLostConnection(ex))
            {
                // After a server restart every idle pooled connection is dead; let the next call open a fresh one.
                _dataSource.Clear();
            }

            throw Translate(ex, action);
        }
    }
}
