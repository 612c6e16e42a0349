using Durably.TestHost;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Durably.Cli.Tests;

// `durably journal verify` on journals damaged as the SQLite damage sweep damages them (tests/Durably.Sqlite.Tests,
// DamageSweepTests) gives the verdict the store's own verification gives: exit 0 for sound, 6 for damaged.
public sealed class JournalVerifyDamageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int PerVerdict = 10;
    private readonly TempFolder _folder = new();

    private string Source => _folder.File("source");

    public Task InitializeAsync() => JournalDamage.WriteAsync(Source);

    [Fact]
    public async Task JournalVerify_SampleOfDamagedJournals_GivesTheStoresOwnVerdict()
    {
        // The store's verdict on every case first (in process, quick), then the tool on an even spread of both verdicts.
        var cases = JournalDamage.Truncations(Source, stride: 61).Concat(JournalDamage.BitFlips(Source, seed: 4242, count: 150)).ToList();
        var verdicts = new List<(DamageCase Case, bool Damaged)>();
        foreach (var damage in cases)
        {
            var folder = _folder.File("store-verdict");
            damage.Apply(Source, folder);
            var outcome = await Task.Run(() => JournalDamage.CheckAsync(folder)).WaitAsync(TimeSpan.FromSeconds(20));
            verdicts.Add((damage, outcome.Damaged));
            SqliteConnection.ClearAllPools();
        }

        var sample = Spread(verdicts.Where(v => v.Damaged).ToList()).Concat(Spread(verdicts.Where(v => !v.Damaged).ToList())).ToList();
        Assert.Equal(2 * PerVerdict, sample.Count);

        var disagreements = new List<string>();
        foreach (var (damage, damaged) in sample)
        {
            var folder = _folder.File("tool-verdict");
            damage.Apply(Source, folder);
            var result = await Processes.DurablyAsync("journal", "verify", "--store", Path.Combine(folder, JournalDamage.FileName));
            output.WriteLine($"{damage}: store says {(damaged ? "damaged" : "sound")}, durably exits {result.ExitCode}");
            if (result.ExitCode != (damaged ? 6 : 0) || result.Stderr.Contains("   at ", StringComparison.Ordinal))
            {
                disagreements.Add($"{damage}: the store says {(damaged ? "damaged" : "sound")}; {result}");
            }
        }

        Assert.True(disagreements.Count == 0, string.Join("\n\n", disagreements));
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
        return Task.CompletedTask;
    }

    private static IEnumerable<T> Spread<T>(IReadOnlyList<T> items)
    {
        Assert.True(items.Count >= PerVerdict, $"Only {items.Count} cases have this verdict; the sample needs {PerVerdict}.");
        return Enumerable.Range(0, PerVerdict).Select(i => items[i * items.Count / PerVerdict]);
    }
}
