using System.Text.Json;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;

namespace Durably.Cli.Tests;

// durably runs purge --archive and durably journal compact, run as the real tool against real files.
public sealed class CompactAndArchiveCommandTests(StoreFixture fixture) : IClassFixture<StoreFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task RunsPurge_WithArchive_WritesTheRunsInTheExportFormatThenDeletesThem()
    {
        var store = fixture.Copy(_folder);
        var archive = _folder.File("archive");

        var purge = await Processes.DurablyAsync("runs", "purge", "--status", "completed", "--older-than", "0s", "--archive", archive, "--store", store, "--json");
        var after = await Processes.DurablyAsync("runs", "list", "--store", store);

        Assert.True(purge.ExitCode == 0, purge.Stderr);
        var file = JsonDocument.Parse(purge.Stdout).RootElement.GetProperty("archive").GetString()!;
        Assert.Equal(archive, Path.GetDirectoryName(file));
        await using var input = File.OpenRead(file);
        var journal = Assert.Single(await JournalExport.ReadAsync(input));
        Assert.Equal(Stores.Done, journal.RunId);
        Assert.IsType<RunStarted>(journal.Entries[0]);
        Assert.IsType<RunCompleted>(journal.Entries[^1]);
        Assert.DoesNotContain("done-1", after.Stdout, StringComparison.Ordinal);
        Assert.Contains("waiting-1", after.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JournalCompact_AfterPurgeOfRunsWithLargePayloads_PrintsASmallerSizeAndDeletesTheirBlobs()
    {
        var path = _folder.File("large.db");
        await using (var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = path, PayloadBlobs = new PayloadBlobOptions { InlineLimit = 4096 } }))
        {
            for (var i = 0; i < 100; i++)
            {
                var id = new RunId($"large-{i}");
                await store.AppendAsync([new RunAppend(id, 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "w", WorkflowVersion = 1, Input = Payload.FromValue(i + new string('i', 3000)) }]) { Status = RunStatus.Running }]);
                await store.AppendAsync([new RunAppend(id, 1, [new StepCompleted { Sequence = 1, Timestamp = DateTimeOffset.UnixEpoch, Step = 1, Result = Payload.FromValue(i + new string('r', 50_000)) }])]);
                await store.AppendAsync([new RunAppend(id, 2, [new RunCompleted { Sequence = 2, Timestamp = DateTimeOffset.UnixEpoch }]) { Status = RunStatus.Completed }]);
            }
        }

        var purge = await Processes.DurablyAsync("runs", "purge", "--status", "completed", "--older-than", "0s", "--store", path);
        var compact = await Processes.DurablyAsync("journal", "compact", "--blob-grace", "0s", "--store", path, "--json");
        var text = await Processes.DurablyAsync("journal", "compact", "--quick", "--store", path);

        Assert.True(purge.ExitCode == 0, purge.Stderr);
        Assert.True(compact.ExitCode == 0, compact.Stderr);
        var result = JsonDocument.Parse(compact.Stdout).RootElement;
        var (before, after) = (result.GetProperty("bytesBefore").GetInt64(), result.GetProperty("bytesAfter").GetInt64());
        Assert.True(after * 4 < before, $"{before} -> {after} bytes");
        Assert.Equal(100, result.GetProperty("blobsDeleted").GetInt64());
        Assert.Empty(Directory.GetFiles(FileSystemPayloadBlobStore.DefaultFolderFor(path), "*", SearchOption.AllDirectories));
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("Size before:", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("Size after:", text.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JournalCompact_BadGrace_Exits4()
    {
        var result = await Processes.DurablyAsync("journal", "compact", "--blob-grace", "soon", "--store", fixture.Copy(_folder));
        Assert.Equal(4, result.ExitCode);
        Assert.Contains("soon", result.Stderr, StringComparison.Ordinal);
    }
}
