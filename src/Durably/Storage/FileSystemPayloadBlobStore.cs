using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Durably.Storage;

/// <summary>Keeps payload blobs as files in a folder, one file per SHA-256, the SQLite store's default blob store.</summary>
/// <remarks>
/// <para>Each blob is <c>{folder}/{first two hex digits}/{sha256}</c>. A write goes to a temporary file in the same folder,
/// which is synced, renamed into place, and the folder synced: when <see cref="WriteAsync"/> returns, the blob survives a
/// crash or a power cut, and a crash before that leaves at most a temporary file (removed by the next collection) and never a
/// half-written blob under its name.</para>
/// <para>The file's modification time is the blob's last-used time: writing a blob that exists already only touches it.
/// Deleting renames the file aside first, checks its time again, then deletes it (or puts it back): a writer that touched it
/// first keeps it, and a writer that comes after finds it gone and writes it again. Thread-safe, and safe across processes
/// sharing the folder.</para>
/// </remarks>
public sealed class FileSystemPayloadBlobStore : IPayloadBlobStore
{
    private const string TempPrefix = ".tmp-";
    private const string DeletingPrefix = ".del-";

    /// <summary>How old, by the system clock, a temporary or set-aside file must be before <see cref="DeleteLeftovers"/> removes it: far
    /// longer than any write or delete takes, so a file an operation is still using is never taken for a leftover.</summary>
    public static readonly TimeSpan LeftoverAge = TimeSpan.FromHours(1);

    private readonly TimeProvider _time;

    /// <summary>Creates a blob store over <paramref name="folder"/>, which is created when the first blob is written.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="timeProvider">The clock for last-used times; the system clock by default.</param>
    public FileSystemPayloadBlobStore(string folder, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Folder = Path.GetFullPath(folder);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Gets the full path of the folder.</summary>
    public string Folder { get; }

    /// <inheritdoc/>
    public string Location => $"the blob folder '{Folder}'";

    /// <summary>Returns the default blob folder of a SQLite journal file: <c>{file}.blobs</c> beside it.</summary>
    public static string DefaultFolderFor(string journalPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(journalPath);
        return Path.GetFullPath(journalPath) + ".blobs";
    }

    /// <summary>Gets the full path of the file that holds <paramref name="sha256"/>.</summary>
    /// <exception cref="ArgumentException">The name is not 64 lower-case hexadecimal digits.</exception>
    public string PathOf(string sha256)
    {
        CheckName(sha256);
        return Path.Combine(Folder, sha256[..2], sha256);
    }

    /// <inheritdoc/>
    public ValueTask WriteAsync(string sha256, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var path = PathOf(sha256);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            try
            {
                // Content-addressed: the bytes there are these bytes. Touching marks the blob as in use again.
                File.SetLastWriteTimeUtc(path, _time.GetUtcNow().UtcDateTime);
                return ValueTask.CompletedTask;
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
            }

            var directory = Path.GetDirectoryName(path)!;
            var created = !Directory.Exists(directory);
            Directory.CreateDirectory(directory);
            var temp = Path.Combine(directory, TempPrefix + Stamp() + "-" + Guid.NewGuid().ToString("N"));
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                file.Write(data.Span);
                file.Flush(flushToDisk: true);
            }

            File.SetLastWriteTimeUtc(temp, _time.GetUtcNow().UtcDateTime);
            File.Move(temp, path, overwrite: true);
            SyncDirectory(directory);
            if (created)
            {
                SyncDirectory(Folder);
                SyncDirectory(Path.GetDirectoryName(Folder)!);
            }
        }
        catch (IOException ex)
        {
            throw new JournalStoreException($"Payload blob {sha256} could not be written to {Location}: {ex.Message} Nothing that refers to it was committed. Check the disk.", ex) { StoreLocation = Folder };
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new JournalStoreException($"Payload blob {sha256} could not be written to {Location}: {ex.Message} Check the folder's permissions.", ex) { StoreLocation = Folder };
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask<byte[]?> ReadAsync(string sha256, CancellationToken cancellationToken = default)
    {
        var path = PathOf(sha256);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return ValueTask.FromResult<byte[]?>(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return ValueTask.FromResult<byte[]?>(null);
        }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<PayloadBlobInfo> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        if (!Directory.Exists(Folder))
        {
            yield break;
        }

        foreach (var directory in Directory.EnumerateDirectories(Folder))
        {
            foreach (var file in new DirectoryInfo(directory).EnumerateFiles())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (IsName(file.Name))
                {
                    yield return new PayloadBlobInfo(file.Name, file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero));
                }
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask<long> DeleteIfUnusedSinceAsync(string sha256, DateTimeOffset usedBefore, CancellationToken cancellationToken = default)
    {
        var path = PathOf(sha256);
        cancellationToken.ThrowIfCancellationRequested();
        var aside = Path.Combine(Path.GetDirectoryName(path)!, DeletingPrefix + sha256 + "-" + Stamp() + "-" + Guid.NewGuid().ToString("N"));
        try
        {
            File.Move(path, aside);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return ValueTask.FromResult(0L);
        }

        var info = new FileInfo(aside);
        if (info.LastWriteTimeUtc >= usedBefore.UtcDateTime)
        {
            // Used meanwhile: put it back (a writer that found it gone may have written the same bytes there already).
            File.Move(aside, path, overwrite: true);
            return ValueTask.FromResult(0L);
        }

        var size = info.Length;
        File.Delete(aside);
        return ValueTask.FromResult(size);
    }

    /// <summary>Deletes the temporary and set-aside files left by writes and deletes that a crash interrupted: those made before
    /// <paramref name="olderThan"/> and at least <see cref="LeftoverAge"/> ago.</summary>
    /// <remarks>A file's age is the system-clock time its operation wrote into its name (not its modification time, which a temporary
    /// file shares with the blob's last-used time, on the store's clock, and a set-aside file keeps from the blob). So a write or
    /// delete in progress, in this process or another, keeps its file however the clocks and the collection's grace are set.</remarks>
    /// <returns>The number of files deleted.</returns>
    public int DeleteLeftovers(DateTimeOffset olderThan)
    {
        if (!Directory.Exists(Folder))
        {
            return 0;
        }

        var before = Math.Min(olderThan.ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.Add(-LeftoverAge).ToUnixTimeMilliseconds());
        var deleted = 0;
        foreach (var directory in Directory.EnumerateDirectories(Folder))
        {
            foreach (var file in new DirectoryInfo(directory).EnumerateFiles(".*"))
            {
                if (MadeAt(file) is { } made && made < before)
                {
                    try
                    {
                        file.Delete();
                        deleted++;
                    }
                    catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
                    {
                        // Another collection removed it first.
                    }
                }
            }
        }

        return deleted;
    }

    // The system-clock time (Unix milliseconds) written into a temporary or set-aside file's name: ".tmp-{ms}-{guid}",
    // ".del-{sha256}-{ms}-{guid}". Names without one (written before it was added) are as old as their modification time, by the
    // system clock. Null for any other file.
    private static long? MadeAt(FileInfo file)
    {
        var name = file.Name;
        string rest;
        if (name.StartsWith(TempPrefix, StringComparison.Ordinal))
        {
            rest = name[TempPrefix.Length..];
        }
        else if (name.StartsWith(DeletingPrefix, StringComparison.Ordinal) && name.Length > DeletingPrefix.Length + 65)
        {
            rest = name[(DeletingPrefix.Length + 65)..];
        }
        else
        {
            return null;
        }

        var dash = rest.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && long.TryParse(rest.AsSpan(0, dash), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms)
            ? ms
            : new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero).ToUnixTimeMilliseconds();
    }

    private static string Stamp() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Gets the bytes the folder holds (blobs and leftovers).</summary>
    public long SizeInBytes() => Directory.Exists(Folder)
        ? new DirectoryInfo(Folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length)
        : 0;

    private static bool IsName(string name) => name.Length == 64 && name.All(char.IsAsciiHexDigitLower);

    private static void CheckName(string sha256)
    {
        if (sha256 is null || !IsName(sha256))
        {
            throw new ArgumentException($"A blob name is the SHA-256 of its bytes as 64 lower-case hexadecimal digits; '{sha256}' is not.", nameof(sha256));
        }
    }

    // A rename is durable only once the folder holding it is synced.
    private static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = NativeMethods.Open(directory, 0);
        if (fd < 0)
        {
            throw new IOException($"The folder '{directory}' could not be opened to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (NativeMethods.Fsync(fd) != 0)
            {
                throw new IOException($"The folder '{directory}' could not be synced (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern int Open(string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }
}
