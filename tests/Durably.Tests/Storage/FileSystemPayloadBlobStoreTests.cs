using Durably.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Durably.Tests.Storage;

// The leftovers a collection removes from a blob folder: temporary and set-aside files of writes and deletes a crash interrupted,
// told apart from those of operations still in progress by the system-clock time in their names.
public sealed class FileSystemPayloadBlobStoreTests : IDisposable
{
    private static readonly string Hash = new('a', 64);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-blobs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void DeleteLeftovers_CrashLeftoversAndFilesInUse_DeletesOnlyThoseOlderThanTheLeftoverAge()
    {
        var shard = Directory.CreateDirectory(Path.Combine(_folder, "aa")).FullName;
        var now = DateTimeOffset.UtcNow;
        var oldTemp = Touch(shard, $".tmp-{Ms(now.AddHours(-2))}-{Guid.NewGuid():N}");
        var oldAside = Touch(shard, $".del-{Hash}-{Ms(now.AddHours(-3))}-{Guid.NewGuid():N}");
        var freshTemp = Touch(shard, $".tmp-{Ms(now)}-{Guid.NewGuid():N}");
        var freshAside = Touch(shard, $".del-{Hash}-{Ms(now.AddMinutes(-5))}-{Guid.NewGuid():N}");
        var legacyOld = Touch(shard, $".tmp-{Guid.NewGuid():N}", now.AddDays(-1));
        var legacyFresh = Touch(shard, $".tmp-{Guid.NewGuid():N}", now);
        var blob = Touch(shard, Hash, now.AddDays(-30));
        var store = new FileSystemPayloadBlobStore(_folder);

        // Even a collection told to take everything up to a moment in the future leaves what is younger than the leftover age.
        var deleted = store.DeleteLeftovers(now.AddDays(1));

        Assert.Equal(3, deleted);
        Assert.All(new[] { oldTemp, oldAside, legacyOld }, path => Assert.False(File.Exists(path), path));
        Assert.All(new[] { freshTemp, freshAside, legacyFresh, blob }, path => Assert.True(File.Exists(path), path));
    }

    [Fact]
    public async Task DeleteLeftovers_WhileWritesRunOnAFakeClockFarBehind_NeverBreaksAWrite()
    {
        // The store's clock (last-used times) is a year behind the system clock, and each collection takes everything before it.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddYears(-1));
        var store = new FileSystemPayloadBlobStore(_folder, clock);
        using var done = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                clock.Advance(TimeSpan.FromMinutes(10));
                store.DeleteLeftovers(clock.GetUtcNow());
            }
        });

        for (var i = 0; i < 200; i++)
        {
            var data = System.Text.Encoding.UTF8.GetBytes($"blob {i}");
            var hash = PayloadBlobs.Hash(data);
            await store.WriteAsync(hash, data);
            Assert.Equal(data, await store.ReadAsync(hash));
        }

        await done.CancelAsync();
        await collector;
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static string Ms(DateTimeOffset at) => at.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Touch(string folder, string name, DateTimeOffset? modified = null)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, "x");
        File.SetLastWriteTimeUtc(path, (modified ?? DateTimeOffset.UtcNow).UtcDateTime);
        return path;
    }
}
