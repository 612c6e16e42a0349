using System.Globalization;
using Durably.Inspection;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;

namespace Durably.TestHost;

/// <summary>A journal written as a crash would leave it (a checkpointed file and a WAL of later commits), and damage to apply to copies of it.</summary>
/// <remarks>
/// The journal is a fixed sequence of appends, each one commit, so a test knows for every count K of the first appends
/// what each run holds: a reopened journal that lost commits must still look like one of those prefixes.
/// </remarks>
public static class JournalDamage
{
    /// <summary>The file name of the journal in a case folder; its WAL is this name with <c>-wal</c>.</summary>
    public const string FileName = "journal.db";

    private const int Runs = 10;

    /// <summary>Gets the appends, in the order they were committed.</summary>
    public static IReadOnlyList<RunAppend> Appends { get; } = MakeAppends();

    /// <summary>Gets how many of the first appends are in the database file itself; the rest are only in the WAL.</summary>
    public static int Checkpointed { get; } = Appends.Count * 3 / 5;

    /// <summary>Writes the journal into <paramref name="folder"/>: the first appends checkpointed into the file, the rest in its WAL, as the host had them when it died.</summary>
    public static async Task WriteAsync(string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "writing.db");
        await using (var store = await SqliteJournalStore.OpenAsync(path))
        {
            foreach (var append in Appends.Take(Checkpointed))
            {
                await store.AppendAsync(append);
            }
        }

        await using (var store = await SqliteJournalStore.OpenAsync(path))
        {
            foreach (var append in Appends.Skip(Checkpointed))
            {
                await store.AppendAsync(append);
            }

            // Copied while the store is open and idle: what a power cut after the last acknowledged append leaves.
            File.Copy(path, Path.Combine(folder, FileName));
            File.Copy(path + "-wal", Path.Combine(folder, FileName + "-wal"));
        }

        File.Delete(path);
    }

    /// <summary>Returns the cases that cut the file or its WAL at offsets in the last two pages (frames), at a stride, plus every offset of the headers and around every page boundary there.</summary>
    public static IEnumerable<DamageCase> Truncations(string folder, int stride)
    {
        foreach (var target in new[] { DamageTarget.Database, DamageTarget.Wal })
        {
            var length = new FileInfo(PathOf(folder, target)).Length;
            var page = target == DamageTarget.Database ? 4096 : 4096 + 24;
            var header = target == DamageTarget.Database ? 100 : 32;
            var offsets = new SortedSet<long>();
            for (var offset = Math.Max(0, length - (2 * page)); offset < length; offset += stride)
            {
                offsets.Add(offset);
            }

            foreach (var boundary in new[] { length - (2 * page), length - page })
            {
                // Around the boundary, and every byte of the page (or frame) header that starts there.
                for (var offset = boundary - 2; offset < boundary + 26; offset++)
                {
                    offsets.Add(offset);
                }
            }

            for (var offset = 0; offset <= header; offset++)
            {
                offsets.Add(offset);
            }

            offsets.Add(length - 1);
            foreach (var offset in offsets.Where(o => o >= 0 && o < length))
            {
                yield return new DamageCase(target, DamageKind.Truncate, offset);
            }
        }
    }

    /// <summary>Returns <paramref name="count"/> cases per file that flip one random bit (and some that flip a burst of 8 bytes).</summary>
    public static IEnumerable<DamageCase> BitFlips(string folder, int seed, int count)
    {
        var random = new Random(seed);
        foreach (var target in new[] { DamageTarget.Database, DamageTarget.Wal })
        {
            var length = new FileInfo(PathOf(folder, target)).Length;
            for (var i = 0; i < count; i++)
            {
                yield return new DamageCase(target, i % 10 == 9 ? DamageKind.Burst : DamageKind.Flip, random.NextInt64(length), random.Next(8), random.Next());
            }
        }
    }

    /// <summary>Returns the path of the database file or of its WAL in <paramref name="folder"/>.</summary>
    public static string PathOf(string folder, DamageTarget target) => Path.Combine(folder, target == DamageTarget.Database ? FileName : FileName + "-wal");

    /// <summary>Returns how many entries each run holds after the first <paramref name="appends"/> appends.</summary>
    public static Dictionary<RunId, int> CountsAfter(int appends)
    {
        var counts = new Dictionary<RunId, int>();
        foreach (var append in Appends.Take(appends))
        {
            counts[append.RunId] = counts.GetValueOrDefault(append.RunId) + append.Entries.Count;
        }

        return counts;
    }

    /// <summary>Returns every entry written to <paramref name="runId"/>, in order.</summary>
    public static IReadOnlyList<JournalEntry> EntriesOf(RunId runId) => [.. Appends.Where(a => a.RunId == runId).SelectMany(a => a.Entries)];

    /// <summary>Opens the journal in <paramref name="folder"/> the way a host does, reads every run and verifies the store, and says what it saw.</summary>
    /// <remarks>Only Durably's damage exceptions are caught: anything else escapes, and the caller's test fails on it.</remarks>
    public static async Task<DamageOutcome> CheckAsync(string folder)
    {
        var path = Path.Combine(folder, FileName);
        SqliteJournalStore store;
        try
        {
            store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false, BusyTimeout = TimeSpan.FromSeconds(2) });
        }
        catch (Exception ex) when (ex is JournalCorruptedException or JournalFormatException)
        {
            return new DamageOutcome { OpenError = ex };
        }

        await using (store)
        {
            var outcome = new DamageOutcome();
            try
            {
                string? token = null;
                do
                {
                    var page = await store.ListRunsAsync(new RunQuery { PageSize = 4, ContinuationToken = token });
                    outcome.Listed.AddRange(page.Runs.Select(r => r.RunId));
                    token = page.ContinuationToken;
                }
                while (token is not null);
            }
            catch (JournalCorruptedException ex)
            {
                outcome.ReadErrors.Add(ex);
            }

            foreach (var runId in Appends.Select(a => a.RunId).Distinct())
            {
                try
                {
                    if (await store.GetRunAsync(runId) is not null)
                    {
                        outcome.Journals[runId] = await store.ReadAsync(runId);
                    }
                }
                catch (Exception ex) when (ex is JournalCorruptedException or JournalFormatException)
                {
                    outcome.ReadErrors.Add(ex);
                }
            }

            try
            {
                outcome.Report = await JournalVerifier.VerifyAsync(store);
            }
            catch (Exception ex) when (ex is JournalCorruptedException or JournalFormatException)
            {
                outcome.VerifyError = ex;
            }

            return outcome;
        }
    }

    private static List<RunAppend> MakeAppends()
    {
        // Each run: started, then steps as intent and outcome appended separately (as an effect does), then, for
        // most runs, completed. Results run from a few bytes to several pages, so commits span overflow pages. The
        // runs take turns, so every commit touches the newest pages of the tables.
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_000);
        var random = new Random(20260101);
        var perRun = new List<RunAppend>[Runs];
        for (var run = 0; run < Runs; run++)
        {
            var runId = new RunId($"damaged-{run.ToString(CultureInfo.InvariantCulture)}");
            var appends = new List<RunAppend> { new(runId, 0, [new RunStarted { Sequence = 0, Timestamp = at, Workflow = "damage", Input = Payload.FromValue(run) }]) { Status = RunStatus.Running } };
            var seq = 1L;
            var steps = 3 + (run % 4);
            for (var step = 1; step <= steps; step++)
            {
                appends.Add(new RunAppend(runId, seq, [new StepStarted { Sequence = seq, Timestamp = at, Step = step, Kind = StepKind.Effect, Name = $"tool-{step}", IdempotencyKey = $"{runId}:{step}" }]));
                seq++;
                var size = random.Next(6) == 0 ? random.Next(3000, 12_000) : random.Next(1, 300);
                var result = new string((char)('a' + (step % 26)), size) + $"|{runId}|{step}";
                appends.Add(new RunAppend(runId, seq, [new StepCompleted { Sequence = seq, Timestamp = at, Step = step, Result = Payload.FromValue(result), Attempt = 1 }]));
                seq++;
            }

            if (run % 3 != 2)
            {
                appends.Add(new RunAppend(runId, seq, [new RunCompleted { Sequence = seq, Timestamp = at, Result = Payload.FromValue(steps) }]) { Status = RunStatus.Completed });
            }

            perRun[run] = appends;
        }

        var ordered = new List<RunAppend>();
        for (var turn = 0; ordered.Count < perRun.Sum(a => a.Count); turn++)
        {
            ordered.AddRange(perRun.Where(a => turn < a.Count).Select(a => a[turn]));
        }

        return ordered;
    }
}

/// <summary>Which file of a journal a case damages.</summary>
public enum DamageTarget
{
    /// <summary>The SQLite database file.</summary>
    Database,

    /// <summary>Its write-ahead log.</summary>
    Wal,
}

/// <summary>How a case damages its file.</summary>
public enum DamageKind
{
    /// <summary>Cut the file at the offset.</summary>
    Truncate,

    /// <summary>Flip one bit of the byte at the offset.</summary>
    Flip,

    /// <summary>Overwrite 8 bytes from the offset with random ones.</summary>
    Burst,
}

/// <summary>One damage to apply to a copy of the journal written by <see cref="JournalDamage.WriteAsync"/>.</summary>
public sealed record DamageCase(DamageTarget Target, DamageKind Kind, long Offset, int Bit = 0, int Seed = 0)
{
    /// <summary>Copies the journal from <paramref name="source"/> into <paramref name="folder"/> (emptied first) and damages the copy.</summary>
    public void Apply(string source, string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        Directory.CreateDirectory(folder);
        foreach (var target in new[] { DamageTarget.Database, DamageTarget.Wal })
        {
            File.Copy(JournalDamage.PathOf(source, target), JournalDamage.PathOf(folder, target));
        }

        using var file = new FileStream(JournalDamage.PathOf(folder, Target), FileMode.Open, FileAccess.ReadWrite);
        switch (Kind)
        {
            case DamageKind.Truncate:
                file.SetLength(Offset);
                break;
            case DamageKind.Flip:
                file.Position = Offset;
                var value = (byte)file.ReadByte();
                file.Position = Offset;
                file.WriteByte((byte)(value ^ (1 << Bit)));
                break;
            case DamageKind.Burst:
                var bytes = new byte[(int)Math.Min(8, file.Length - Offset)];
                new Random(Seed).NextBytes(bytes);
                file.Position = Offset;
                file.Write(bytes);
                break;
        }
    }

    /// <summary>Describes the case so that a failure can be reproduced.</summary>
    public override string ToString() => Kind switch
    {
        DamageKind.Truncate => $"{Target} cut at {Offset}",
        DamageKind.Flip => $"{Target} bit {Bit} of byte {Offset} flipped",
        _ => $"{Target} 8 random bytes (seed {Seed}) at {Offset}",
    };
}

/// <summary>What <see cref="JournalDamage.CheckAsync"/> saw when it opened, read and verified a damaged journal.</summary>
public sealed class DamageOutcome
{
    /// <summary>Gets the error opening the store threw, if it did.</summary>
    public Exception? OpenError { get; init; }

    /// <summary>Gets the runs listed.</summary>
    public List<RunId> Listed { get; } = [];

    /// <summary>Gets the journals read in full, by run.</summary>
    public Dictionary<RunId, IReadOnlyList<JournalEntry>> Journals { get; } = [];

    /// <summary>Gets the errors listing or reading runs threw.</summary>
    public List<Exception> ReadErrors { get; } = [];

    /// <summary>Gets what the store's verification found, when it finished.</summary>
    public VerifyReport? Report { get; set; }

    /// <summary>Gets the error verification threw, if it did.</summary>
    public Exception? VerifyError { get; set; }

    /// <summary>Gets a value indicating whether the store's own verification (as <c>durably journal verify</c> runs it) calls the journal damaged.</summary>
    public bool Damaged => OpenError is not null || VerifyError is not null || Report is { IsSound: false };

    /// <summary>Gets every error seen.</summary>
    public IEnumerable<Exception> Errors => new[] { OpenError, VerifyError }.OfType<Exception>().Concat(ReadErrors);
}
