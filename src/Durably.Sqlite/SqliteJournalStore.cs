using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite;

/// <summary>Stores journals in one SQLite file in WAL mode; the embedded default store.</summary>
/// <remarks>
/// <para>All writes go through one writer thread that commits everything pending in one transaction and
/// syncs once (group commit), then completes every waiter: throughput grows with the number of
/// concurrent runs while one run's append costs about one disk sync.</para>
/// <para>Other processes (the <c>durably</c> tool, a web app) may open the same file to read and to
/// deliver signals while a host has it open; WAL mode lets readers run beside the writer, and writers in
/// other processes wait up to <see cref="SqliteJournalStoreOptions.BusyTimeout"/> for the write lock.</para>
/// <para>Thread-safe. Leases are stored in the file and use this machine's clock. A run leased to a worker whose process has died is claimable at once (see <see cref="ClaimRunsAsync"/>).</para>
/// <para>When the disk fails: a full disk fails the appends of the commit it stops with <see cref="StoreFullException"/>;
/// nothing of them is written, and later appends succeed once there is space again. An I/O error before the commit
/// point fails that commit's appends with <see cref="JournalStoreException"/> and leaves nothing of them on disk. An
/// I/O error while SQLite commits and syncs, or a sync reported failed after it committed, leaves that commit in doubt:
/// its appends fail with <see cref="JournalStoreFailedException"/> (after reopening they may or may not be there), and
/// so does every later write (appends, signals, claims), because after a failed fsync the operating system may have
/// dropped what it could not write while later syncs report success. Dispose the store and open it again; that reads
/// what really reached the disk. Reads keep working meanwhile.</para>
/// </remarks>
public sealed partial class SqliteJournalStore : IJournalStore, IJournalStoreIntegrity, IJournalStoreBlobs, IJournalStoreCompaction, IJournalStoreHealth
{
    private readonly SqliteJournalStoreOptions _options;
    private readonly SqliteReaderPool _readers;
    private readonly SqliteConnection _writer;
    private int _disposed;

    private SqliteJournalStore(SqliteJournalStoreOptions options, string connectionString, SqliteConnection writer)
    {
        _options = options;
        _readers = new SqliteReaderPool(connectionString, options.Path, MaxIdleReaders);
        _writer = writer;
        _blobStore = options.PayloadBlobs?.Store ?? new FileSystemPayloadBlobStore(FileSystemPayloadBlobStore.DefaultFolderFor(options.Path), options.TimeProvider);
        _statements = new Statements(writer);
        _writes = new GroupCommitWriter<WriteItem>(new BatchTarget(this), GroupCommitPolicy.OnDedicatedThread("Durably SQLite writer"), options.Path);
    }

    /// <summary>Gets the full path of the journal file.</summary>
    public string Path => _options.Path;

    /// <summary>Opens (or creates) the journal file at <paramref name="path"/> with default options.</summary>
    /// <inheritdoc cref="OpenAsync(SqliteJournalStoreOptions, CancellationToken)"/>
    public static Task<SqliteJournalStore> OpenAsync(string path, CancellationToken cancellationToken = default)
        => OpenAsync(new SqliteJournalStoreOptions { Path = path }, cancellationToken);

    /// <summary>Opens (or creates) a journal file, creating its schema or checking that it is a Durably journal this version can read.</summary>
    /// <remarks>
    /// <para>Opening checks cheaply for damage, at a cost that does not grow with the file: the SQLite header
    /// and the Durably marker, schema version and tables; that the file is a whole number of pages when no
    /// WAL is pending (a cut inside the last page is otherwise read as zeros); the newest end of every table
    /// and of the run-id index; and the checksum of the newest run's last entry. It does not run SQLite's
    /// <c>quick_check</c>, which reads the whole file: damage elsewhere is reported by the first read that
    /// touches it, as a <see cref="JournalCorruptedException"/>. Every entry and signal payload carries a
    /// CRC-32C checked on each read, so changed bytes are never returned as if they had been written.</para>
    /// <para>An existing empty file (0 bytes) becomes a new journal when <see cref="SqliteJournalStoreOptions.CreateIfMissing"/>
    /// is on, and is reported as damaged when it is off, since a journal truncated to nothing looks the same.</para>
    /// </remarks>
    /// <exception cref="JournalStoreNotFoundException">The file does not exist and <see cref="SqliteJournalStoreOptions.CreateIfMissing"/> is off.</exception>
    /// <exception cref="JournalStoreLockedException">Another process held the file locked for longer than <see cref="SqliteJournalStoreOptions.BusyTimeout"/>.</exception>
    /// <exception cref="JournalStoreException">The file cannot be opened.</exception>
    /// <exception cref="JournalCorruptedException">The file is damaged or truncated, is empty while <see cref="SqliteJournalStoreOptions.CreateIfMissing"/> is off, or is not a Durably journal.</exception>
    /// <exception cref="Journal.JournalFormatException">The file was written by a newer version of Durably.</exception>
    public static Task<SqliteJournalStore> OpenAsync(SqliteJournalStoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Path);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxEntryBytes, 1024);
        cancellationToken.ThrowIfCancellationRequested();

        var path = System.IO.Path.GetFullPath(options.Path);
        options = new SqliteJournalStoreOptions
        {
            Path = path,
            Durability = options.Durability,
            CreateIfMissing = options.CreateIfMissing,
            MaxEntryBytes = options.MaxEntryBytes,
            BusyTimeout = options.BusyTimeout,
            TimeProvider = options.TimeProvider,
            FaultInjector = options.FaultInjector,
            PayloadBlobs = options.PayloadBlobs,
        };
        options.PayloadBlobs?.Validate();

        if (!File.Exists(path))
        {
            if (!options.CreateIfMissing)
            {
                throw new JournalStoreNotFoundException($"The journal file '{path}' does not exist. Check the path, or create the store by opening it with CreateIfMissing.") { StoreLocation = path };
            }

            var directory = System.IO.Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }

        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = options.CreateIfMissing ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite,
            Cache = SqliteCacheMode.Private,
            // The store pools its own readers (SqliteReaderPool says why) and keeps one writer connection for its lifetime.
            Pooling = false,
            DefaultTimeout = Math.Max(1, (int)options.BusyTimeout.TotalSeconds),
        }.ToString();

        var writer = new SqliteConnection(connectionString);
        try
        {
            writer.Open();
            SqliteSchema.Initialize(writer, path, options);
        }
        catch (SqliteException ex)
        {
            writer.Dispose();
            throw Translate(ex, path, "opening");
        }
        catch (Exception ex) when (IsWrongValue(ex))
        {
            writer.Dispose();
            throw WrongValue(path, ex);
        }
        catch
        {
            writer.Dispose();
            throw;
        }

        return Task.FromResult(new SqliteJournalStore(options, connectionString, writer));
    }

    /// <summary>Stops accepting work, commits what is queued, and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _writes.DisposeAsync().ConfigureAwait(false);
        _statements.Dispose();
        DisposeWriterCommands();
        _writer.Dispose();
        _readers.Dispose();
        _owners?.Dispose();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    // Reader connections kept open between reads: a few per core is enough, since every read is short.
    private static int MaxIdleReaders => Math.Max(4, Environment.ProcessorCount * 2);

    // The pool that serves reads (internal so that tests can plant a damaged connection in it).
    internal SqliteReaderPool Readers => _readers;

    internal static JournalStoreException Translate(SqliteException ex, string path, string action)
    {
        // Result codes: https://www.sqlite.org/rescode.html. A short read means a page lies past the end of
        // the file: SQLite reports it as an I/O error, but the file was truncated.
        const int ShortRead = 522;
        return (ex.SqliteExtendedErrorCode == ShortRead ? 11 : ex.SqliteErrorCode & 0xFF) switch
        {
            11 or 26 => new JournalCorruptedException($"The journal file '{path}' is damaged or is not a SQLite database ({ex.Message.TrimEnd('.')}) while {action}. Run 'durably journal verify' on a copy, and restore it from a backup if it cannot be read.", ex) { StoreLocation = path },
            13 => new StoreFullException($"The disk holding the journal file '{path}' is full while {action}; nothing was written. Free space and retry.", ex) { StoreLocation = path },
            5 or 6 => new JournalStoreLockedException($"The journal file '{path}' is locked by another process while {action}; it did not free the lock in time. Retry, or stop the other process.", ex) { StoreLocation = path },
            10 => new JournalStoreException($"An I/O error occurred on the journal file '{path}' while {action}; nothing was acknowledged. Check the disk. ({ex.Message})", ex) { StoreLocation = path },
            8 => new JournalStoreException($"The journal file '{path}' is read-only while {action}. Check its permissions.", ex) { StoreLocation = path },
            14 => new JournalStoreException($"The journal file '{path}' cannot be opened while {action}. Check that its folder exists and is writable.", ex) { StoreLocation = path },
            _ => new JournalStoreException($"SQLite failed on the journal file '{path}' while {action}: {ex.Message}", ex) { StoreLocation = path },
        };
    }
}
