using Durably.Sqlite;
using Durably.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Durably.Hosting.Tests;

// The README's large payloads and retention example, compiled and run: the region below is the README's code block,
// line for line (only the paths differ), and the test fails when the two drift apart.
public sealed class ReadmeRetentionTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-readme-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task RetentionExample_Host_StartsWithOffloadingAndRetention()
    {
        Directory.CreateDirectory(_folder);
        var path = Path.Combine(_folder, "agent.db");
        var archive = Path.Combine(_folder, "archive");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();

        // README retention: begin
        builder.Services.AddDurably()
            .UseSqlite(path, o => new SqliteJournalStoreOptions
            {
                Path = o.Path,
                PayloadBlobs = new PayloadBlobOptions { InlineLimit = 64 * 1024 },   // larger payloads go to agent.db.blobs/
            })
            .AddRetention(new RetentionPolicy
            {
                KeepCompleted = TimeSpan.FromDays(7),
                KeepFailed = TimeSpan.FromDays(30),
                ArchiveDirectory = archive,   // JSON lines in the `durably journal export` format, synced before the purge
                Interval = TimeSpan.FromMinutes(15),
            });
        // README retention: end

        using var host = builder.Build();
        var service = host.Services.GetRequiredService<DurablyRetentionService>();
        var pass = new TaskCompletionSource<RetentionResult?>(TaskCreationOptions.RunContinuationsAsynchronously);
        service.PassCompleted += r => pass.TrySetResult(r);
        await host.StartAsync();
        Assert.NotNull(await pass.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        var store = (SqliteJournalStore)host.Services.GetRequiredService<IJournalStore>();
        Assert.Equal(64 * 1024, store.BlobOptions!.InlineLimit);
        await host.StopAsync();
    }

    [Fact]
    public void RetentionExample_IsTheReadmeCodeBlock()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Durably.slnx")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("The repository root (Durably.slnx) is not above the test's folder.");
        }

        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var start = readme.IndexOf("```csharp", readme.IndexOf("## Large payloads and retention", StringComparison.Ordinal), StringComparison.Ordinal) + "```csharp".Length;
        var block = Lines(readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)])
            .Select(l => l.Replace("UseSqlite(\"agent.db\"", "UseSqlite(path", StringComparison.Ordinal).Replace("ArchiveDirectory = \"archive\"", "ArchiveDirectory = archive", StringComparison.Ordinal));
        var source = File.ReadAllText(Path.Combine(root, "tests", "Durably.Hosting.Tests", "ReadmeRetentionTests.cs"));
        var from = source.IndexOf("// README retention: begin", StringComparison.Ordinal) + "// README retention: begin".Length;
        var region = Lines(source[from..source.IndexOf("// README retention: end", from, StringComparison.Ordinal)]);

        Assert.Equal(block, region);
    }

    private static List<string> Lines(string text) => [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];

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
