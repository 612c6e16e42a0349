using System.Text;
using System.Text.Json;
using Durably.Storage;

namespace Durably.Journal;

/// <summary>Writes and reads exported journals: JSON lines, one journal entry per line in the <see cref="JournalSerializer"/> wire format.</summary>
/// <remarks>
/// <para>Each line is exactly the serialized entry with one property added in front, <c>"run"</c>, naming the run it belongs
/// to: <c>{"run":"order-42","type":"step.completed","v":1,"seq":3,...}</c>. Any <see cref="JournalSerializer"/> reads a line
/// as the entry (unknown properties are ignored), and one file can hold several runs. Payloads are exported as they are
/// stored, so an encrypted journal stays encrypted in its export.</para>
/// <para>This is the format of <c>durably journal export</c>, and the input of the testing kit's journal replayer.</para>
/// </remarks>
public static class JournalExport
{
    /// <summary>The name of the property that carries the run id on every line.</summary>
    public const string RunProperty = "run";

    private static readonly byte[] LinePrefix = Encoding.UTF8.GetBytes("{\"" + RunProperty + "\":");

    /// <summary>Writes a run's entries to <paramref name="output"/>, one line each.</summary>
    public static async Task WriteAsync(Stream output, RunId runId, IEnumerable<JournalEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(entries);
        var runJson = JsonSerializer.SerializeToUtf8Bytes(runId.Value, DurablyJsonContext.Default.String);
        foreach (var entry in entries)
        {
            // The entry is a JSON object with at least its "type": put the run property in front of its first member.
            var json = JournalSerializer.Serialize(entry);
            await output.WriteAsync(LinePrefix, cancellationToken).ConfigureAwait(false);
            await output.WriteAsync(runJson, cancellationToken).ConfigureAwait(false);
            output.WriteByte((byte)',');
            await output.WriteAsync(json.AsMemory(1), cancellationToken).ConfigureAwait(false);
            output.WriteByte((byte)'\n');
        }
    }

    /// <summary>Reads a run's whole journal from <paramref name="store"/> and writes it to <paramref name="output"/>.</summary>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    public static async Task ExportAsync(IJournalStore store, RunId runId, Stream output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var entries = await store.ReadAsync(runId, 0, cancellationToken).ConfigureAwait(false);
        await WriteAsync(output, runId, entries, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads exported journals, grouped by run in the order they first appear.</summary>
    /// <param name="input">The JSON lines; blank lines are skipped.</param>
    /// <param name="runId">The run of lines that have no <c>"run"</c> property (entries exported by hand); <see langword="null"/> to require it.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="JournalFormatException">A line is not an entry, names no run, or a run's entries are not contiguous from sequence 0 (the message gives the line number).</exception>
    public static async Task<IReadOnlyList<ExportedJournal>> ReadAsync(Stream input, RunId? runId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var runs = new Dictionary<RunId, List<JournalEntry>>();
        var order = new List<RunId>();
        using var reader = new StreamReader(input, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        var number = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var utf8 = Encoding.UTF8.GetBytes(line);
            JournalEntry entry;
            RunId run;
            try
            {
                entry = JournalSerializer.Deserialize(utf8);
                run = PeekRun(utf8) ?? runId ?? throw new JournalFormatException($"Line {number} has no \"{RunProperty}\" property naming its run; pass the run id to read entries exported without it.");
            }
            catch (JournalFormatException ex) when (!ex.Message.StartsWith("Line ", StringComparison.Ordinal))
            {
                throw new JournalFormatException($"Line {number}: {ex.Message}", ex);
            }

            if (!runs.TryGetValue(run, out var entries))
            {
                entries = [];
                runs.Add(run, entries);
                order.Add(run);
            }

            if (entry.Sequence != entries.Count)
            {
                throw new JournalFormatException($"Line {number}: entry {entry.Sequence} of run '{run}' follows {entries.Count} entries; an exported journal holds each run's entries in order from sequence 0, none missing.");
            }

            entries.Add(entry);
        }

        return [.. order.Select(r => new ExportedJournal(r, runs[r]))];
    }

    private static RunId? PeekRun(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        try
        {
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isRun = reader.ValueTextEquals(RunProperty);
                reader.Read();
                if (isRun)
                {
                    return reader.TokenType == JsonTokenType.String
                        ? new RunId(reader.GetString()!)
                        : throw new JournalFormatException($"The \"{RunProperty}\" property must be a string.");
                }

                reader.Skip();
            }
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            throw new JournalFormatException($"The \"{RunProperty}\" property is not a valid run id: {ex.Message}", ex);
        }

        return null;
    }
}

/// <summary>Holds one run's journal as read from an export.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Entries">Its entries, in sequence order from 0.</param>
public sealed record ExportedJournal(RunId RunId, IReadOnlyList<JournalEntry> Entries);
