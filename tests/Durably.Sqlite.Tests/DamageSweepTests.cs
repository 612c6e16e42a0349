using System.Diagnostics;
using System.Globalization;
using Durably.Journal;
using Durably.TestHost;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// A journal as a crash leaves it (a checkpointed file and a WAL of later commits), damaged in many ways in turn: cut at
// offsets all over the last two pages of the file and the last two frames of the WAL, and random bit flips in both.
// Each damaged copy is opened as a host would open it, every run read, and the store verified, with a timeout. The
// store must never crash or hang, and must either give back a committed prefix of what was written (every run a
// prefix of its journal, together the state after some number of commits) or report damage naming the file.
public sealed class DamageSweepTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);
    private readonly TempFolder _folder = new();
    private readonly List<Dictionary<RunId, int>> _prefixes = [.. Enumerable.Range(0, JournalDamage.Appends.Count + 1).Select(JournalDamage.CountsAfter)];

    private string Source => _folder.File("source");

    public Task InitializeAsync() => JournalDamage.WriteAsync(Source);

    [Fact]
    public async Task CheckAsync_UndamagedCrashImage_IsSoundAndHoldsEveryCommit()
    {
        var folder = _folder.File("undamaged");
        Directory.CreateDirectory(folder);
        foreach (var target in new[] { DamageTarget.Database, DamageTarget.Wal })
        {
            File.Copy(JournalDamage.PathOf(Source, target), JournalDamage.PathOf(folder, target));
        }

        var outcome = await JournalDamage.CheckAsync(folder);

        Assert.False(outcome.Damaged, string.Join("; ", outcome.Errors.Select(e => e.Message)));
        Assert.Equal(JournalDamage.Appends.Count, CommittedPrefix(outcome));
        Assert.True(new FileInfo(JournalDamage.PathOf(Source, DamageTarget.Wal)).Length > 3 * 4120, "The crash image has almost nothing in its WAL.");
    }

    [Fact]
    public async Task OpenAsync_FileOrWalCutAtOffsetsInTheirLastPages_RecoversCommittedPrefixOrReportsDamage()
    {
        // Every offset of the headers and around page boundaries, and every 7th byte elsewhere in the last two pages
        // (DURABLY_DAMAGE_STRIDE=1 cuts at every offset: about 16,000 cases, a few minutes).
        var stride = Environment.GetEnvironmentVariable("DURABLY_DAMAGE_STRIDE") is { Length: > 0 } text ? int.Parse(text, CultureInfo.InvariantCulture) : 7;
        await SweepAsync([.. JournalDamage.Truncations(Source, stride)]);
    }

    [Fact]
    public async Task OpenAsync_RandomBitFlipsInFileOrWal_RecoversCommittedPrefixOrReportsDamage()
    {
        var seed = Environment.GetEnvironmentVariable("DURABLY_DAMAGE_SEED") is { Length: > 0 } fixedSeed ? int.Parse(fixedSeed, CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine($"damage seed {seed} (set DURABLY_DAMAGE_SEED to repeat, DURABLY_DAMAGE_FLIPS for more cases)");
        var count = Environment.GetEnvironmentVariable("DURABLY_DAMAGE_FLIPS") is { Length: > 0 } text ? int.Parse(text, CultureInfo.InvariantCulture) : 500;
        await SweepAsync([.. JournalDamage.BitFlips(Source, seed, count)]);
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
        return Task.CompletedTask;
    }

    private async Task SweepAsync(IReadOnlyList<DamageCase> cases)
    {
        var problems = new List<string>();
        int recovered = 0, reported = 0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < cases.Count; i++)
        {
            var damage = cases[i];
            var folder = _folder.File("case-" + i.ToString(CultureInfo.InvariantCulture));
            damage.Apply(Source, folder);
            DamageOutcome outcome;
            try
            {
                // Off the test thread, so that a synchronous hang inside SQLite is caught by the timeout as well.
                outcome = await Task.Run(() => JournalDamage.CheckAsync(folder)).WaitAsync(CaseTimeout);
            }
            catch (TimeoutException)
            {
                problems.Add($"{damage}: opening, reading and verifying did not finish in {CaseTimeout.TotalSeconds} s");
                continue;
            }
            catch (Exception ex)
            {
                var where = string.Join(" <- ", (ex.StackTrace ?? string.Empty).Split('\n', StringSplitOptions.TrimEntries).Take(3));
                problems.Add($"{damage}: {ex.GetType().Name} escaped: {ex.Message} ({where})");
                continue;
            }

            if (Judge(damage, outcome, Path.Combine(folder, JournalDamage.FileName)) is { } problem)
            {
                problems.Add($"{damage}: {problem}");
            }
            else if (outcome.Damaged)
            {
                reported++;
            }
            else
            {
                recovered++;
            }

            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }

        output.WriteLine($"{cases.Count} cases in {clock.Elapsed.TotalSeconds:0.0} s: {recovered} recovered a committed prefix, {reported} reported damage, {problems.Count} wrong");
        Assert.True(problems.Count == 0, $"{problems.Count} of {cases.Count} cases went wrong:\n" + string.Join("\n", problems.Take(25)));
        Assert.True(recovered > 0 && reported > 0, "The sweep should meet both kinds of outcome; its cases no longer exercise the store.");
    }

    // Returns what is wrong with the outcome, or null when the store behaved.
    private string? Judge(DamageCase damage, DamageOutcome outcome, string path)
    {
        if (outcome.Errors.FirstOrDefault(e => !e.Message.Contains(path, StringComparison.Ordinal)) is { } anonymous)
        {
            return $"the error does not name the file: {anonymous.GetType().Name}: {anonymous.Message}";
        }

        foreach (var (runId, journal) in outcome.Journals)
        {
            var written = JournalDamage.EntriesOf(runId);
            if (journal.Count > written.Count || !journal.SequenceEqual(written.Take(journal.Count)))
            {
                return $"run {runId} read back {journal.Count} entries that are not a prefix of the {written.Count} written";
            }
        }

        if (outcome.Damaged)
        {
            return null;
        }

        if (outcome.ReadErrors.Count > 0)
        {
            return $"verification found the journal sound, but reading failed: {outcome.ReadErrors[0].Message}";
        }

        if (outcome.Listed.Any(id => JournalDamage.EntriesOf(id).Count == 0))
        {
            return $"runs that were never written are listed: {string.Join(", ", outcome.Listed)}";
        }

        var prefix = CommittedPrefix(outcome);
        if (prefix < 0)
        {
            return $"reads as sound but is the state after no number of commits: {string.Join(", ", outcome.Journals.Select(j => $"{j.Key} {j.Value.Count}"))}";
        }

        // The file itself is intact when only the WAL is damaged, and it holds the commits checkpointed into it.
        return damage.Target == DamageTarget.Wal && prefix < JournalDamage.Checkpointed
            ? $"only the WAL was damaged, yet commits checkpointed into the file were lost (the first {prefix} of {JournalDamage.Checkpointed} remain)"
            : null;
    }

    // The number of first appends whose state the journals show, or -1 when they show none.
    private int CommittedPrefix(DamageOutcome outcome)
    {
        var counts = outcome.Journals.ToDictionary(j => j.Key, j => j.Value.Count);
        return _prefixes.FindIndex(p => p.Count == counts.Count && p.All(c => counts.GetValueOrDefault(c.Key) == c.Value));
    }
}
