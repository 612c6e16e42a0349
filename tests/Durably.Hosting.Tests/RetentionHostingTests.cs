using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Durably.Hosting.Tests;

// The host's retention service on a real SQLite file, driven by a fake clock: passes run at start and every interval.
public sealed class RetentionHostingTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-retention-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task AddRetention_IntervalElapses_PurgesArchivesAndCollectsBlobsOfOldRuns()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        var path = Path.Combine(_folder, "journal.db");
        var archive = Path.Combine(_folder, "archive");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddDurably()
            .UseSqlite(path, o => new SqliteJournalStoreOptions { Path = o.Path, TimeProvider = clock, PayloadBlobs = new PayloadBlobOptions { InlineLimit = 1024, CollectionGracePeriod = TimeSpan.FromMinutes(10) } })
            .AddRetention(new RetentionPolicy { KeepCompleted = TimeSpan.FromDays(1), Interval = TimeSpan.FromHours(1), ArchiveDirectory = archive });
        using var host = builder.Build();
        var service = host.Services.GetRequiredService<DurablyRetentionService>();
        var passes = new System.Collections.Concurrent.BlockingCollection<RetentionResult?>();
        service.PassCompleted += passes.Add;
        var store = (SqliteJournalStore)host.Services.GetRequiredService<IJournalStore>();
        var big = Payload.FromValue(new string('h', 20_000));
        await store.AppendAsync([new RunAppend(new RunId("old"), 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "w", WorkflowVersion = 1, Input = big }]) { Status = RunStatus.Running }]);
        await store.AppendAsync([new RunAppend(new RunId("old"), 1, [new RunCompleted { Sequence = 1, Timestamp = DateTimeOffset.UnixEpoch }]) { Status = RunStatus.Completed }]);
        await store.AppendAsync([new RunAppend(new RunId("waiting"), 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "w", WorkflowVersion = 1 }]) { Status = RunStatus.Suspended, WakeAt = clock.GetUtcNow().AddYears(1) }]);

        await host.StartAsync();
        Assert.True(passes.TryTake(out var first, TimeSpan.FromSeconds(30)), "no pass at start-up");
        Assert.Empty(first!.Purged);

        // Two days later the run is past its keep time; the blob is past its grace period once it is unreferenced.
        clock.Advance(TimeSpan.FromDays(2));
        Assert.True(passes.TryTake(out var second, TimeSpan.FromSeconds(30)), "no pass after the interval");
        Assert.Equal(["old"], second!.Purged.Select(r => r.Value));
        Assert.NotNull(second.ArchiveFile);
        Assert.Contains("\"run\":\"old\"", await File.ReadAllTextAsync(second.ArchiveFile!), StringComparison.Ordinal);
        Assert.Equal(1, second.Blobs!.Deleted);
        Assert.Null(await store.GetRunAsync(new RunId("old")));
        Assert.NotNull(await store.GetRunAsync(new RunId("waiting")));
        Assert.Equal(1, service.RunsPurged);
        await host.StopAsync();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
