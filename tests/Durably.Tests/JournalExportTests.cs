using System.Text;
using Durably.Journal;

namespace Durably.Tests;

public sealed class JournalExportTests
{
    private static string Golden => Path.Combine(AppContext.BaseDirectory, "Golden", "journal-v1.jsonl");

    [Fact]
    public async Task ReadAsync_GoldenJournal_ReadsEveryLine()
    {
        await using var file = File.OpenRead(Golden);

        var entries = await ToListAsync(JournalExport.ReadAsync(file));

        Assert.Equal(File.ReadAllLines(Golden).Count(l => l.Length > 0), entries.Count);
        Assert.IsType<RunStarted>(entries[0]);
    }

    [Fact]
    public async Task WriteAsync_ThenReadAsync_ReturnsEqualEntriesOnePerLine()
    {
        await using var file = File.OpenRead(Golden);
        var entries = await ToListAsync(JournalExport.ReadAsync(file));
        using var buffer = new MemoryStream();

        await JournalExport.WriteAsync(buffer, entries);

        var text = Encoding.UTF8.GetString(buffer.ToArray());
        Assert.Equal(entries.Count, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        buffer.Position = 0;
        var again = await ToListAsync(JournalExport.ReadAsync(buffer));
        Assert.Equal(entries.Select(e => Encoding.UTF8.GetString(JournalSerializer.Serialize(e))), again.Select(e => Encoding.UTF8.GetString(JournalSerializer.Serialize(e))));
    }

    [Fact]
    public async Task ReadAsync_MalformedLine_ThrowsNamingTheLine()
    {
        var text = "{\"type\":\"run.started\",\"v\":1,\"seq\":0,\"at\":0,\"workflow\":\"w\"}\n\n{\"type\":\"step.completed\",\n";
        using var source = new MemoryStream(Encoding.UTF8.GetBytes(text));

        var error = await Assert.ThrowsAsync<JournalFormatException>(() => ToListAsync(JournalExport.ReadAsync(source)));

        Assert.StartsWith("Line 3 ", error.Message, StringComparison.Ordinal);
    }

    private static async Task<List<JournalEntry>> ToListAsync(IAsyncEnumerable<JournalEntry> entries)
    {
        var list = new List<JournalEntry>();
        await foreach (var entry in entries)
        {
            list.Add(entry);
        }

        return list;
    }
}
