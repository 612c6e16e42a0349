using System.Buffers.Binary;
using System.Text;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Durably.Sqlite.Tests;

// A damaged or foreign file must give a typed Durably exception that names the file, on open or on the
// first read that touches the damage: never a raw SqliteException, never wrong data, never a hang.
public sealed class DamagedFileTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TempFolder _folder = new();

    private string StorePath => _folder.File("journal.db");

    public static TheoryData<string> TruncationPoints() => ["header", "after-header", "second-page", "half", "last-page", "inside-last-page", "last-byte"];

    [Theory]
    [MemberData(nameof(TruncationPoints))]
    public async Task OpenAsync_TruncatedFile_ThrowsCorruptedNamingFile(string point)
    {
        await WriteJournalAsync();
        var length = new FileInfo(StorePath).Length;
        var pageSize = PageSizeOf(StorePath);
        var cut = point switch
        {
            "header" => 50,
            "after-header" => 100,
            "second-page" => pageSize + 100,
            "half" => length / 2,
            "last-page" => length - pageSize,
            "inside-last-page" => length - (pageSize / 2),
            "last-byte" => length - 1,
            _ => throw new ArgumentOutOfRangeException(nameof(point)),
        };
        Truncate(StorePath, cut);

        var ex = await OpenAndReadEverythingExpectingFailureAsync(new SqliteJournalStoreOptions { Path = StorePath });
        Assert.IsType<JournalCorruptedException>(ex);
    }

    [Fact]
    public async Task OpenAsync_FileTruncatedToZeroWithoutCreateIfMissing_ThrowsCorruptedNamingFile()
    {
        await WriteJournalAsync();
        Truncate(StorePath, 0);

        var ex = await OpenAndReadEverythingExpectingFailureAsync(new SqliteJournalStoreOptions { Path = StorePath, CreateIfMissing = false });

        Assert.IsType<JournalCorruptedException>(ex);
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, new FileInfo(StorePath).Length);
    }

    [Fact]
    public async Task OpenAsync_EmptyFileWithCreateIfMissing_CreatesJournal()
    {
        await File.WriteAllBytesAsync(StorePath, []);

        await using var store = await SqliteJournalStore.OpenAsync(StorePath);
        await store.AppendAsync(new RunAppend(new RunId("fresh"), 0, [Started()]));

        Assert.Single(await store.ReadAsync(new RunId("fresh")));
    }

    [Theory]
    [InlineData(37)]
    [InlineData(4096 * 3)]
    public async Task OpenAsync_FileOfRandomBytes_ThrowsCorruptedNamingFile(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        await File.WriteAllBytesAsync(StorePath, bytes);

        var ex = await OpenAndReadEverythingExpectingFailureAsync(new SqliteJournalStoreOptions { Path = StorePath });

        Assert.IsType<JournalCorruptedException>(ex);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(StorePath));
    }

    [Fact]
    public async Task OpenAsync_SqliteDatabaseOfAnotherApplication_ThrowsCorruptedAndLeavesItAlone()
    {
        using (var connection = OpenRaw(StorePath))
        {
            Execute(connection, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers(name) VALUES('Ada');");
        }

        var before = await File.ReadAllBytesAsync(StorePath);
        var ex = await OpenAndReadEverythingExpectingFailureAsync(new SqliteJournalStoreOptions { Path = StorePath });

        Assert.IsType<JournalCorruptedException>(ex);
        Assert.Contains("not a Durably journal", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(StorePath));
        Assert.False(File.Exists(StorePath + "-wal"), "Opening switched another application's database to WAL mode.");
    }

    [Fact]
    public async Task OpenAsync_JournalMarkerWithoutItsTables_ThrowsCorruptedNamingFile()
    {
        await WriteJournalAsync();
        using (var connection = OpenRaw(StorePath))
        {
            Execute(connection, "DROP TABLE entries");
        }

        var ex = await OpenAndReadEverythingExpectingFailureAsync(new SqliteJournalStoreOptions { Path = StorePath });

        Assert.IsType<JournalCorruptedException>(ex);
        Assert.Contains("entries", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_NewerSchemaVersion_ThrowsFormatExceptionNamingFile()
    {
        await WriteJournalAsync();
        using (var connection = OpenRaw(StorePath))
        {
            Execute(connection, "PRAGMA user_version = 99");
        }

        var ex = await OpenAndReadEverythingExpectingFailureAsync(new SqliteJournalStoreOptions { Path = StorePath });

        var format = Assert.IsType<JournalFormatException>(ex);
        Assert.Equal(99, format.FormatVersion);
        Assert.Contains("99", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_MissingFileWithoutCreateIfMissing_ThrowsStoreExceptionAndCreatesNothing()
    {
        var ex = await OpenAndReadEverythingExpectingFailureAsync(new SqliteJournalStoreOptions { Path = StorePath, CreateIfMissing = false });

        Assert.IsType<JournalStoreNotFoundException>(ex);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(StorePath));
    }

    public static TheoryData<string> EntryDamages() => ["random-bytes", "cut-in-half", "one-letter-changed", "other-entry", "text-instead-of-blob", "row-deleted", "last-row-deleted", "link-changed", "run-null", "seq-null"];

    [Theory]
    [MemberData(nameof(EntryDamages))]
    public async Task ReadAsync_EntryBytesDamaged_ThrowsCorruptedNamingFileRunAndSequence(string damage)
    {
        var journal = await WriteJournalAsync();
        var (victim, victimEntries) = journal.First(j => j.Value.Count > 4);
        var seq = damage == "last-row-deleted" ? victimEntries.Count - 1 : 2;
        using (var connection = OpenRaw(StorePath))
        {
            var original = (byte[])Scalar(connection, $"SELECT data FROM entries WHERE run = (SELECT id FROM runs WHERE run_id = '{victim}') AND seq = {seq}")!;
            var sql = damage switch
            {
                "random-bytes" => "UPDATE entries SET data = randomblob(length(data))",
                "cut-in-half" => "UPDATE entries SET data = substr(data, 1, length(data) / 2)",
                "one-letter-changed" => "UPDATE entries SET data = $changed",
                "other-entry" => "UPDATE entries SET data = (SELECT data FROM entries e WHERE e.run = entries.run AND e.seq = entries.seq + 1)",
                "text-instead-of-blob" => "UPDATE entries SET data = CAST(data AS TEXT)",
                "row-deleted" or "last-row-deleted" => "DELETE FROM entries",
                "link-changed" => "UPDATE entries SET prev = (SELECT max(id) FROM entries)",
                "run-null" => "UPDATE entries SET run = NULL",
                "seq-null" => "UPDATE entries SET seq = NULL",
                _ => throw new ArgumentOutOfRangeException(nameof(damage)),
            };
            using var command = connection.CreateCommand();
            command.CommandText = sql + $" WHERE run = (SELECT id FROM runs WHERE run_id = '{victim}') AND seq = {seq}";

            // A letter inside the step's JSON result: the entry still parses, so only a checksum can tell.
            var changed = (byte[])original.Clone();
            var at = Encoding.UTF8.GetString(changed).IndexOf("result-", StringComparison.Ordinal) + "result-".Length;
            changed[at] = (byte)(changed[at] == (byte)'x' ? 'y' : 'x');
            command.Parameters.AddWithValue("$changed", changed);

            // SQL cannot put NULL into a NOT NULL column, a flipped bit in a record header can: lift the constraint for the update.
            var schema = (string)Scalar(connection, "SELECT sql FROM sqlite_master WHERE name = 'entries'")!;
            SetSchema(connection, "entries", schema.Replace(" NOT NULL", string.Empty, StringComparison.Ordinal));
            Assert.Equal(1, command.ExecuteNonQuery());
            SetSchema(connection, "entries", schema);
        }

        await using var store = await WithTimeout(() => SqliteJournalStore.OpenAsync(StorePath));
        var ex = await Assert.ThrowsAsync<JournalCorruptedException>(() => WithTimeout(() => store.ReadAsync(victim)));
        output.WriteLine(ex.Message);
        Assert.Contains(StorePath, ex.Message, StringComparison.Ordinal);
        Assert.Contains(victim.Value, ex.Message, StringComparison.Ordinal);
        Assert.Equal(StorePath, ex.StoreLocation);

        // The damage is confined to its run: every other journal still reads in full.
        foreach (var (runId, entries) in journal.Where(j => j.Key != victim))
        {
            Assert.Equal(entries, await WithTimeout(() => store.ReadAsync(runId)));
        }
    }

    [Fact]
    public async Task ReadAsync_ByteChangedInsideEntryOnDisk_ThrowsCorruptedNamingFile()
    {
        var journal = await WriteJournalAsync();
        var bytes = await File.ReadAllBytesAsync(StorePath);

        // Bit rot inside a multi-page result: the pages stay well-formed, so SQLite cannot notice.
        var at = bytes.AsSpan().IndexOf("result-7-3-"u8) + 20;
        Assert.Equal((byte)'z', bytes[at]);
        bytes[at] = (byte)'y';
        await File.WriteAllBytesAsync(StorePath, bytes);

        await using var store = await WithTimeout(() => SqliteJournalStore.OpenAsync(StorePath));
        var ex = await Assert.ThrowsAsync<JournalCorruptedException>(() => WithTimeout(() => store.ReadAsync(new RunId("damage-7"))));

        Assert.Contains("Entry 3 of run 'damage-7'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(StorePath, ex.Message, StringComparison.Ordinal);
        Assert.Equal(journal[new RunId("damage-8")], await store.ReadAsync(new RunId("damage-8")));
    }

    [Fact]
    public async Task ReadSignalsAsync_SignalPayloadDamaged_ThrowsCorruptedNamingFile()
    {
        var journal = await WriteJournalAsync();
        var runId = journal.Keys.First();
        using (var connection = OpenRaw(StorePath))
        {
            Execute(connection, "UPDATE signals SET payload = CAST('{\"approved\":false}' AS BLOB)");
        }

        await using var store = await WithTimeout(() => SqliteJournalStore.OpenAsync(StorePath));
        var ex = await Assert.ThrowsAsync<JournalCorruptedException>(() => WithTimeout(() => store.ReadSignalsAsync(runId)));

        Assert.Contains(StorePath, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAndAppend_RunIdIndexLeadsToAnotherRunsRecord_ThrowCorruptedInsteadOfUsingThatRun()
    {
        var (alpha, bravo) = await WriteTwoRunsAsync();

        // The index entry of 'bravo' now holds the row id of 'alpha' (1): the table and every entry are intact.
        DamageRunIdIndex("bravo"u8, record => record[^1] = 1);

        await using var store = await WithTimeout(() => SqliteJournalStore.OpenAsync(StorePath));
        var read = await Assert.ThrowsAsync<JournalCorruptedException>(() => store.ReadAsync(bravo));
        var get = await Assert.ThrowsAsync<JournalCorruptedException>(() => store.GetRunAsync(bravo));
        var append = await Assert.ThrowsAsync<JournalCorruptedException>(() => store.AppendAsync(new RunAppend(bravo, 3, [Completed(3)])).AsTask());
        var signal = await Assert.ThrowsAsync<JournalCorruptedException>(() => store.DeliverSignalAsync(bravo, new SignalMessage("nudge", null)));
        var claim = await Assert.ThrowsAsync<JournalCorruptedException>(() => store.TryClaimRunAsync(bravo, "w", TimeSpan.FromMinutes(1)));

        output.WriteLine(read.Message);
        Assert.All(new[] { read, get, append, signal, claim }, ex =>
        {
            Assert.Contains(StorePath, ex.Message, StringComparison.Ordinal);
            Assert.Contains("'bravo'", ex.Message, StringComparison.Ordinal);
            Assert.Contains("'alpha'", ex.Message, StringComparison.Ordinal);
        });

        // Nothing was written into the run the damaged index leads to.
        var alphaRun = (await store.ListRunsAsync(new RunQuery { PageSize = 10 })).Runs.Single(r => r.RunId == alpha);
        Assert.Equal(3, alphaRun.NextSequence);
        Assert.Null(alphaRun.LeaseOwner);
        Assert.False((await Inspection.JournalVerifier.VerifyAsync(store)).IsSound);
    }

    [Fact]
    public async Task ReadAndAppend_RunRecordWithNullWhereAValueMustBe_ThrowCorruptedAndOtherRunsCarryOn()
    {
        var (alpha, bravo) = await WriteTwoRunsAsync();
        using (var connection = OpenRaw(StorePath))
        {
            var schema = (string)Scalar(connection, "SELECT sql FROM sqlite_master WHERE name = 'runs'")!;
            SetSchema(connection, "runs", schema.Replace(" NOT NULL", string.Empty, StringComparison.Ordinal));
            Execute(connection, "UPDATE runs SET next_seq = NULL WHERE run_id = 'bravo'");
            SetSchema(connection, "runs", schema);
        }

        await using var store = await WithTimeout(() => SqliteJournalStore.OpenAsync(StorePath));
        var get = await Assert.ThrowsAsync<JournalCorruptedException>(() => store.GetRunAsync(bravo));
        var append = await Assert.ThrowsAsync<JournalCorruptedException>(() => store.AppendAsync(new RunAppend(bravo, 3, [Completed(3)])).AsTask());

        output.WriteLine(append.Message);
        Assert.All(new[] { get, append }, ex => Assert.Contains(StorePath, ex.Message, StringComparison.Ordinal));
        await store.AppendAsync(new RunAppend(alpha, 3, [Intent(3, 2), Completed(4, 2)]));
        Assert.Equal(5, (await store.ReadAsync(alpha)).Count);
    }

    [Fact]
    public async Task VerifyAsync_RunListedButItsIdMissingFromTheIndex_ReportsDamageInsteadOfThrowing()
    {
        var (_, bravo) = await WriteTwoRunsAsync();

        // The index entry of 'bravo' now says 'bravz': the run is listed, and not found by its id.
        DamageRunIdIndex("bravo"u8, record => record[^2] = (byte)'z');

        await using var store = await WithTimeout(() => SqliteJournalStore.OpenAsync(StorePath));
        var report = await Inspection.JournalVerifier.VerifyAsync(store);

        Assert.False(report.IsSound);
        var problem = Assert.Single(report.Problems);
        Assert.Equal(bravo, problem.RunId);
        Assert.Contains("index of run ids is damaged", problem.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    private static RunStarted Started() => new() { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "damage" };

    // Several runs with small and multi-page entries and a signal, closed cleanly (WAL checkpointed and removed).
    private async Task<Dictionary<RunId, IReadOnlyList<JournalEntry>>> WriteJournalAsync()
    {
        var journal = new Dictionary<RunId, IReadOnlyList<JournalEntry>>();
        await using (var store = await SqliteJournalStore.OpenAsync(StorePath))
        {
            for (var run = 0; run < 20; run++)
            {
                var runId = new RunId($"damage-{run}");
                var entries = new List<JournalEntry> { Started() };
                for (var seq = 1; seq <= 2 + (run % 5); seq++)
                {
                    var result = $"result-{run}-{seq}-" + new string('z', seq * run * 150);
                    entries.Add(new StepCompleted { Sequence = seq, Timestamp = DateTimeOffset.UnixEpoch.AddSeconds(seq), Step = seq, Result = Payload.FromValue(result) });
                }

                await store.AppendAsync(new RunAppend(runId, 0, entries));
                journal.Add(runId, entries);
            }

            await store.DeliverSignalAsync(new RunId("damage-0"), new SignalMessage("approval", Payload.FromJson("""{"approved":true}"""), "ops"));
        }

        Assert.False(File.Exists(StorePath + "-wal"), "The store left its WAL behind after a clean close.");
        return journal;
    }

    private static StepStarted Intent(long seq, int step) => new() { Sequence = seq, Timestamp = DateTimeOffset.UnixEpoch, Step = step, Kind = StepKind.Compute, Name = $"step-{step}" };

    private static StepCompleted Completed(long seq, int step = 1) => new() { Sequence = seq, Timestamp = DateTimeOffset.UnixEpoch, Step = step, Result = Payload.FromValue($"step {step}") };

    // Two unfinished runs, 'alpha' (row id 1) and 'bravo' (row id 2), closed cleanly so the file holds everything.
    private async Task<(RunId Alpha, RunId Bravo)> WriteTwoRunsAsync()
    {
        var alpha = new RunId("alpha");
        var bravo = new RunId("bravo");
        await using var store = await SqliteJournalStore.OpenAsync(StorePath);
        await store.AppendAsync(new RunAppend(alpha, 0, [Started(), Intent(1, 1), Completed(2)]));
        await store.AppendAsync(new RunAppend(bravo, 0, [Started(), Intent(1, 1), Completed(2)]));
        return (alpha, bravo);
    }

    // Changes the record of one run id in the run-id index's page, as bit rot would: the id's text and the row id
    // after it (one byte for row ids 2 to 127; SQLite keeps row id 1 as a constant in the record's header).
    private void DamageRunIdIndex(ReadOnlySpan<byte> runId, Action<byte[]> damage)
    {
        long root;
        using (var connection = OpenRaw(StorePath))
        {
            root = (long)Scalar(connection, "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_runs_1'")!;
        }

        SqliteConnection.ClearAllPools();
        var bytes = File.ReadAllBytes(StorePath);
        var pageSize = PageSizeOf(StorePath);
        var page = bytes.AsSpan((int)((root - 1) * pageSize), pageSize);
        var at = page.IndexOf(runId);
        Assert.True(at > 0, "The run id is not in the index's root page.");
        var record = page.Slice(at, runId.Length + 1).ToArray();
        damage(record);
        record.CopyTo(page[at..]);
        File.WriteAllBytes(StorePath, bytes);
    }

    // Opens the file and reads every run, journal and signal inbox; returns the Durably exception that must come.
    private async Task<Exception> OpenAndReadEverythingExpectingFailureAsync(SqliteJournalStoreOptions options)
    {
        var ex = await Record.ExceptionAsync(() => WithTimeout(async () =>
        {
            await using var store = await SqliteJournalStore.OpenAsync(options);
            string? token = null;
            do
            {
                var page = await store.ListRunsAsync(new RunQuery { PageSize = 7, ContinuationToken = token });
                foreach (var run in page.Runs)
                {
                    _ = await store.ReadAsync(run.RunId);
                    _ = await store.ReadSignalsAsync(run.RunId);
                }

                token = page.ContinuationToken;
            }
            while (token is not null);
            return 0;
        }));

        Assert.True(ex is not null, "The damage went unnoticed: the store opened the file and read everything in it.");
        output.WriteLine($"{ex.GetType().Name}: {ex.Message}");
        Assert.True(ex is DurablyException, $"Expected a Durably exception, got {ex}");
        Assert.Contains(options.Path, ex.Message, StringComparison.Ordinal);
        if (ex is JournalStoreException store)
        {
            Assert.Equal(options.Path, store.StoreLocation);
        }

        return ex;
    }

    // Runs the work off the test thread so that a synchronous hang is caught by the timeout too.
    private static Task<T> WithTimeout<T>(Func<Task<T>> work) => Task.Run(work).WaitAsync(Timeout);

    private static int PageSizeOf(string path)
    {
        Span<byte> header = stackalloc byte[100];
        using var file = File.OpenRead(path);
        file.ReadExactly(header);
        var size = BinaryPrimitives.ReadUInt16BigEndian(header[16..]);
        return size == 1 ? 65536 : size;
    }

    private static void Truncate(string path, long length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.SetLength(length);
    }

    private static SqliteConnection OpenRaw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void SetSchema(SqliteConnection connection, string table, string sql)
    {
        Execute(connection, "PRAGMA writable_schema = ON");
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "UPDATE sqlite_master SET sql = $sql WHERE name = $table";
            command.Parameters.AddWithValue("$sql", sql);
            command.Parameters.AddWithValue("$table", table);
            command.ExecuteNonQuery();
        }

        Execute(connection, "PRAGMA writable_schema = RESET");
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
