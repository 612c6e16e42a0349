using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite;

// Tells a dead lease holder from a live one, so that a run whose worker process died is taken over at once
// instead of when its lease expires (30 seconds by default, the wait a restarted host would otherwise sit out).
//
// Every lease owner that claims through a store holds, for the store's lifetime, an exclusive OS lock on a file of
// its own beside the journal: <journal>.owners/<hash of the owner>.lock, opened with FileShare.None, which .NET
// implements as flock(LOCK_EX) on Unix and as an exclusive sharing mode on Windows. The operating system drops it
// when the process ends, however it ends (SIGKILL, OOM kill, a crash). A claimant that finds an unexpired lease held
// by another owner tries to lock that owner's file: when it can, nobody holds the lock, so the holder's process is
// gone (or it disposed its store, which cannot write any more either), and those runs are claimed as if their
// leases had expired; the new epoch fences the old holder.
//
// Why it holds up:
// - Every operation on lock files (taking one's own, probing another's, deleting one) runs on the writer thread inside
//   a claim's write transaction, and SQLite runs one write transaction at a time over all processes on the file. So a
//   probe never races an owner taking its lock: a restart that reuses an owner id either took its lock before the
//   probe (the probe finds it held) or takes it after the prober committed (and then finds the runs leased to the
//   prober, unexpired).
// - An owner takes its lock in the transaction that writes its first lease, before writing it: no committed lease
//   names an owner whose lock was never held.
// - Only a lock we obtained says "dead". A missing file, one we may not open, any I/O error: the holder is treated as
//   live and its lease expires as before.
// - Locks that do not lock (a file system without flock, DOTNET_SYSTEM_IO_DISABLEFILELOCKING): after taking its lock
//   an owner checks that a second open of the file is refused. If it is not, the owner deletes its file, so others see
//   no file rather than a free lock, and this store neither holds nor probes from then on. A store probes only after
//   that check passed once, so a process whose opens never lock cannot take everyone for dead.
// - A folder or file that cannot be created (a read-only folder, a file in the way): no lock and no probe; leases
//   expire as before. Taking the lock is tried again at the next claim or renewal.
// - Two stores in one process: an flock lock belongs to the open file, not to the process, so two stores exclude each
//   other as two processes do. A store whose owner id is held by another store (the same id, such as the default
//   {machine}:{pid} in both) has no lock of its own; the other store's lock covers the shared id meanwhile, and it
//   retries at each claim and renewal, so it takes over the lock soon after the other store is disposed.
// - Fencing does not depend on any of this. A wrong "dead" verdict (an owner that could not open its own existing
//   file, say because another user created it, or the same journal reached through two paths, so two folders) costs a
//   live holder its lease (LeaseLostException at its next write), never a write under a stale epoch.
// - Files do not pile up (the default owner id changes with every process): the file of a dead owner is deleted once
//   no lease names it, and the first lock a store takes sweeps the folder of dead owners that hold no lease.
internal sealed class LeaseOwnerLocks(string journalPath) : IDisposable
{
    private readonly string _folder = journalPath + ".owners";
    private readonly Dictionary<string, FileStream> _held = new(StringComparer.Ordinal);

    // A second open of a lock we held was refused: locks work here, so a lock we obtain means nobody holds it.
    private bool _locksWork;

    // A second open of a lock we held succeeded: locks do not work here; hold and probe nothing.
    private bool _locksBroken;

    // Takes owner's lock if this store does not hold it yet. Call inside the write transaction, before writing a lease for owner.
    public void Hold(SqliteConnection writer, string owner)
    {
        if (_locksBroken || _held.ContainsKey(owner))
        {
            return;
        }

        var path = PathOf(owner);
        FileStream file;
        try
        {
            Directory.CreateDirectory(_folder);
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Held by another store under the same owner id (its lock covers the id), or the folder is not writable.
            return;
        }

        if (TryLock(path) is { } second)
        {
            second.Dispose();
            file.Dispose();
            TryDelete(path);
            _locksBroken = true;
            return;
        }

        _held.Add(owner, file);
        if (!_locksWork)
        {
            _locksWork = true;
            Sweep(writer);
        }
    }

    // Returns the owners among `owners` whose lock this store can take: no live process holds it.
    public List<string> FindDead(IEnumerable<string> owners)
    {
        var dead = new List<string>();
        if (!_locksWork || _locksBroken)
        {
            return dead;
        }

        foreach (var owner in owners)
        {
            if (!_held.ContainsKey(owner) && TryLock(PathOf(owner)) is { } probe)
            {
                probe.Dispose();
                dead.Add(owner);
            }
        }

        return dead;
    }

    // Deletes the files of dead owners that no lease names any more (after a claim took their runs over).
    public void Forget(SqliteConnection writer, IReadOnlyCollection<string> deadOwners)
    {
        if (deadOwners.Count == 0)
        {
            return;
        }

        using var leased = writer.CreateCommand();
        leased.CommandText = "SELECT 1 FROM runs WHERE status < 3 AND lease_owner = $owner LIMIT 1";
        var owner = leased.Parameters.Add("$owner", SqliteType.Text);
        foreach (var dead in deadOwners)
        {
            owner.Value = dead;
            if (leased.ExecuteScalar() is null)
            {
                DeleteIfFree(PathOf(dead));
            }
        }
    }

    public void Dispose()
    {
        foreach (var file in _held.Values)
        {
            file.Dispose();
        }

        _held.Clear();
    }

    // Deletes the files of dead owners that hold no lease, which the per-claim clean-up never sees (a host that exited
    // cleanly released its leases).
    private void Sweep(SqliteConnection writer)
    {
        var leased = _held.Keys.Select(FileNameOf).ToHashSet(StringComparer.Ordinal);
        using (var owners = writer.CreateCommand())
        {
            owners.CommandText = "SELECT DISTINCT lease_owner FROM runs WHERE status < 3 AND lease_owner IS NOT NULL";
            using var reader = owners.ExecuteReader();
            while (reader.Read())
            {
                leased.Add(FileNameOf(reader.GetString(0)));
            }
        }

        try
        {
            foreach (var path in Directory.EnumerateFiles(_folder, "*.lock"))
            {
                if (!leased.Contains(Path.GetFileName(path)))
                {
                    DeleteIfFree(path);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Clean-up only: the next store to start sweeps again.
        }
    }

    private static void DeleteIfFree(string path)
    {
        using var probe = TryLock(path);
        if (probe is not null)
        {
            TryDelete(path);
        }
    }

    // Opens and locks the file, or returns null when it is missing, locked by someone, or cannot be opened. FileShare.Delete lets
    // the file be deleted while open (on Windows; Unix always does) and still conflicts with an owner's FileShare.None: on Unix it
    // takes flock(LOCK_SH), which an owner's LOCK_EX refuses.
    private static FileStream? TryLock(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Delete);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A file left behind costs nothing but its name.
        }
    }

    private string PathOf(string owner) => Path.Combine(_folder, FileNameOf(owner));

    // Owner ids may hold any character (a machine name, a colon, a slash): the file is named after a hash of the id.
    private static string FileNameOf(string owner) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(owner)), 0, 16) + ".lock";
}
