using System.Diagnostics;
using System.Globalization;
using System.Text;
using Durably.Storage;
using Durably.TestHost;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// Kills a real child process that appends to a journal with SIGKILL, then checks what a new store sees.
public sealed class CrashRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private readonly TempFolder _folder = new();

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 8)]
    [InlineData(3, 64)]
    public async Task OpenAsync_AfterChildKilledMidAppend_KeepsEveryAcknowledgedEntryAndNothingTorn(int seed, int runs)
    {
        // The kill point is random on every execution (so repeated runs explore different moments) and logged to reproduce it.
        var killSeed = Environment.GetEnvironmentVariable("DURABLY_KILL_SEED") is { } fixedSeed ? int.Parse(fixedSeed, CultureInfo.InvariantCulture) : Random.Shared.Next();
        var killRandom = new Random(killSeed);
        var killAfterAcks = killRandom.Next(50, 2001);
        var killDelayTicks = (long)(killRandom.NextDouble() * Stopwatch.Frequency / 500); // 0 to 2 ms
        var context = $"seed {seed}, runs {runs}, kill seed {killSeed}: kill after {killAfterAcks} acks + {killDelayTicks * 1_000_000 / Stopwatch.Frequency} us";
        output.WriteLine(context);

        var path = _folder.File("crash.db");
        var acked = new long[runs];
        Array.Fill(acked, -1L);
        var ackCount = 0;

        using var timeout = new CancellationTokenSource(Timeout);
        using var child = ChildProcess.Start("append-loop", path, runs.ToString(CultureInfo.InvariantCulture), seed.ToString(CultureInfo.InvariantCulture));
        var stderr = child.StandardError.ReadToEndAsync(timeout.Token);
        var lines = new LineReader(child.StandardOutput);
        var killed = false;
        while (await lines.ReadLineAsync(timeout.Token) is { } line)
        {
            var (run, seq) = ParseAck(line, seed, runs);
            Assert.True(seq == acked[run] + 1, $"{context}: run {run} acknowledged {seq} after {acked[run]}");
            acked[run] = seq;
            if (++ackCount == killAfterAcks)
            {
                var until = Stopwatch.GetTimestamp() + killDelayTicks;
                while (Stopwatch.GetTimestamp() < until)
                {
                    Thread.SpinWait(10);
                }

                // Process.Kill sends SIGKILL on Unix: no finally blocks, no disposal, no flush.
                child.Kill();
                killed = true;

                // Keep reading: acks the child printed before it died are still in the pipe, and they count.
            }
        }

        await child.WaitForExitAsync(timeout.Token);
        Assert.True(killed, $"{context}: the child exited by itself after {ackCount} acks with code {child.ExitCode}: {await stderr}");
        output.WriteLine($"{ackCount} acks in total; last acknowledged per run: {string.Join(' ', acked)}");

        await using (var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, CreateIfMissing = false }))
        {
            var listed = await store.ListRunsAsync(new RunQuery { PageSize = 1000 });
            Assert.All(listed.Runs, r => Assert.StartsWith($"crash-{seed}-", r.RunId.Value, StringComparison.Ordinal));
            for (var run = 0; run < runs; run++)
            {
                var runId = CrashWorkload.RunIdOf(seed, run);
                var record = await store.GetRunAsync(runId);
                if (record is null)
                {
                    Assert.True(acked[run] == -1, $"{context}: run {run} is missing but {acked[run]} was acknowledged");
                    continue;
                }

                // ReadAsync itself fails on gaps and on entries that do not deserialize.
                var entries = await store.ReadAsync(runId);
                Assert.Equal(record.NextSequence, entries.Count);

                // Each run has one append in flight: at most one entry past the last ack may have committed.
                Assert.InRange(entries.Count - 1, acked[run], acked[run] + 1);
                for (var seq = 0; seq < entries.Count; seq++)
                {
                    Assert.Equal(seq, entries[seq].Sequence);
                    Assert.True(CrashWorkload.EntryAt(seed, run, seq).Equals(entries[seq]), $"{context}: entry {seq} of run {run} differs from what the child wrote: {entries[seq]}");
                }

                // The journal continues where it stopped.
                await store.AppendAsync(new RunAppend(runId, entries.Count, [CrashWorkload.EntryAt(seed, run, entries.Count)]));
            }
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var check = connection.CreateCommand();
        check.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", check.ExecuteScalar());
    }

    public void Dispose() => _folder.Dispose();

    private static (int Run, long Seq) ParseAck(string line, int seed, int runs)
    {
        var parts = line.Split(' ');
        var prefix = $"crash-{seed}-";
        Assert.True(parts.Length == 3 && parts[0] == "ack" && parts[1].StartsWith(prefix, StringComparison.Ordinal), $"Unexpected line from the child: '{line}'");
        var run = int.Parse(parts[1].AsSpan(prefix.Length), CultureInfo.InvariantCulture);
        Assert.InRange(run, 0, runs - 1);
        return (run, long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    // Returns only lines ended by a newline: a line cut short by the kill was never fully printed.
    private sealed class LineReader(StreamReader reader)
    {
        private readonly char[] _buffer = new char[4096];
        private readonly StringBuilder _pending = new();
        private readonly Queue<string> _lines = new();

        public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            while (_lines.Count == 0)
            {
                var read = await reader.ReadAsync(_buffer, cancellationToken);
                if (read == 0)
                {
                    return null;
                }

                for (var i = 0; i < read; i++)
                {
                    if (_buffer[i] == '\n')
                    {
                        _lines.Enqueue(_pending.ToString());
                        _pending.Clear();
                    }
                    else
                    {
                        _pending.Append(_buffer[i]);
                    }
                }
            }

            return _lines.Dequeue();
        }
    }
}
