using System.Text;
using System.Text.Json;

namespace Durably.Cli.Tests;

// `durably signal` given what an attacker or a broken script would give it: run ids that try to leave the store or
// break the terminal, payloads that are not JSON, nest 10,000 levels deep or weigh 20 MB. Each is refused with exit
// code 4 and a message, before anything is written.
public sealed class HostileInputTests(StoreFixture fixture) : IClassFixture<StoreFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public static TheoryData<string> HostileRunIds() =>
    [
        "../waiting-1",
        "waiting-1/../../etc/passwd",
        "..",
        "a\\b",
        "waiting-1\u001b[2J",
        "waiting\r\n-1",
        new string('w', 10_240),
    ];

    [Theory]
    [MemberData(nameof(HostileRunIds))]
    public async Task Signal_HostileRunId_Exits4AndChangesNothingOnDisk(string runId)
    {
        var store = fixture.Copy(_folder);
        var before = Snapshot();

        var result = await Processes.DurablyAsync("signal", runId, "nudge", "1", "--store", store);

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.Contains("is not a valid run id", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("A-Z, a-z, 0-9 and - _ . : @", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task Signal_JsonNestedTenThousandLevels_Exits4AndDeliversNothing()
    {
        var store = fixture.Copy(_folder);
        var deep = new string('[', 10_000) + new string(']', 10_000);

        var argument = await Processes.DurablyAsync("signal", "waiting-1", "nudge", deep, "--store", store);
        var piped = await Processes.DurablyWithInputAsync(Encoding.UTF8.GetBytes(deep), "signal", "waiting-1", "nudge", "-", "--store", store);

        foreach (var result in new[] { argument, piped })
        {
            Assert.True(result.ExitCode == 4, result.ToString());
            Assert.Contains("nests deeper than 128 levels", result.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        }

        await AssertNoSignalAsync(store);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"approved\": true")]
    [InlineData("\"text\" trailing")]
    public async Task Signal_PayloadOnStandardInputNotJson_Exits4AndDeliversNothing(string text)
    {
        var store = fixture.Copy(_folder);

        var result = await Processes.DurablyWithInputAsync(Encoding.UTF8.GetBytes(text), "signal", "waiting-1", "nudge", "-", "--store", store);

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.Contains("The signal payload is not valid JSON", result.Stderr, StringComparison.Ordinal);
        await AssertNoSignalAsync(store);
    }

    [Fact]
    public async Task Signal_TwentyMegabytesOnStandardInput_Exits4AndDeliversNothing()
    {
        var store = fixture.Copy(_folder);
        var huge = Encoding.UTF8.GetBytes("\"" + new string('x', 20 * 1024 * 1024) + "\"");

        var result = await Processes.DurablyWithInputAsync(huge, "signal", "waiting-1", "nudge", "-", "--store", store);

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.Contains($"The signal payload on standard input is {huge.Length:N0} bytes", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("at most 4,194,304 bytes", result.Stderr, StringComparison.Ordinal);
        await AssertNoSignalAsync(store);
    }

    [Fact]
    public async Task Signal_JsonOnStandardInput_IsDelivered()
    {
        var store = fixture.Copy(_folder);

        var result = await Processes.DurablyWithInputAsync("{\"city\":\"Oslo\\u0000\"}"u8.ToArray(), "signal", "waiting-1", "nudge", "-", "--store", store);

        Assert.True(result.ExitCode == 0, result.ToString());
        var show = await Processes.DurablyAsync("runs", "show", "waiting-1", "--store", store, "--json");
        var pending = Assert.Single(JsonDocument.Parse(show.Stdout).RootElement.GetProperty("pendingSignals").EnumerateArray());
        Assert.Equal("Oslo\0", pending.GetProperty("payload").GetProperty("city").GetString());
    }

    [Fact]
    public async Task RunsShow_SenderWithTerminalEscapeInJournal_PrintsItEscaped()
    {
        var store = fixture.Copy(_folder);
        await using (var journal = await Sqlite.SqliteJournalStore.OpenAsync(store))
        {
            // Another program wrote the signal; the sender is whatever it was given.
            await journal.DeliverSignalAsync(Stores.Waiting, new Storage.SignalMessage("nudge", null, "ops\u001b]0;owned\u0007\u001b[2J"));
        }

        var result = await Processes.DurablyAsync("runs", "show", "waiting-1", "--store", store);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("\u001b", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\u0007", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("from ops\\u001b]0;owned\\u0007\\u001b[2J", result.Stdout, StringComparison.Ordinal);
    }

    public void Dispose() => _folder.Dispose();

    private static async Task AssertNoSignalAsync(string store)
    {
        var show = await Processes.DurablyAsync("runs", "show", "waiting-1", "--store", store, "--json");
        Assert.Equal(0, JsonDocument.Parse(show.Stdout).RootElement.GetProperty("pendingSignals").GetArrayLength());
    }

    // Every file under the test's folder with its bytes: what a refused command must leave as it was.
    private Dictionary<string, string> Snapshot()
        => Directory.EnumerateFiles(_folder.Path, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));
}
