using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Cli.Commands;

// Text output: aligned tables and the short forms people read quickly.
internal static class Format
{
    public static string Time(DateTimeOffset? time) => time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z" : "-";

    public static string Duration(double? milliseconds) => milliseconds switch
    {
        null => "-",
        < 1 => "<1 ms",
        < 1000 => $"{milliseconds.Value.ToString("0", CultureInfo.InvariantCulture)} ms",
        < 60_000 => $"{(milliseconds.Value / 1000).ToString("0.0", CultureInfo.InvariantCulture)} s",
        _ => TimeSpan.FromMilliseconds(milliseconds.Value).ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture),
    };

    public static string Tokens(TokenUsage? usage) => usage is null ? "-" : $"{Number(usage.InputTokens)}/{Number(usage.OutputTokens)}";

    public static string Number(long value) => value.ToString("#,0", CultureInfo.InvariantCulture);

    public static string Status(RunStatus status) => status.ToString().ToLowerInvariant();

    public static string Clip(string? text, int max)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var oneLine = text.ReplaceLineEndings(" ");
        return oneLine.Length <= max ? oneLine : oneLine[..(max - 1)] + "…";
    }

    public static string Payload(Payload? payload, int max = 80) => payload is null ? "-" : Clip(payload.IsJson ? Json(payload) : payload.ToString(), max);

    // JSON as people read it: compact, not escaped beyond what JSON needs, and a string that holds JSON shown as that JSON.
    public static string Json(JsonElement? value, int max)
        => value is not { } element ? "-" : Clip(JsonSerializer.Serialize(Unwrap(element), Readable), max);

    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = false };

    private static string Json(Payload payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload.Data);
            return JsonSerializer.Serialize(Unwrap(document.RootElement), Readable);
        }
        catch (JsonException)
        {
            return payload.ToString();
        }
    }

    private static JsonElement Unwrap(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.String || element.GetString() is not { Length: > 0 } inner || inner[0] is not ('{' or '['))
        {
            return element;
        }

        try
        {
            using var document = JsonDocument.Parse(inner);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return element;
        }
    }

    public static void Table(TextWriter output, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, ISet<int>? rightAligned = null)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        output.WriteLine(Line(headers));
        foreach (var row in all)
        {
            output.WriteLine(Line(row));
        }

        string Line(IReadOnlyList<string> cells)
        {
            var line = new StringBuilder();
            for (var i = 0; i < cells.Count; i++)
            {
                var last = i == cells.Count - 1;
                var cell = rightAligned?.Contains(i) == true ? cells[i].PadLeft(widths[i]) : last ? cells[i] : cells[i].PadRight(widths[i]);
                line.Append(cell);
                if (!last)
                {
                    line.Append("  ");
                }
            }

            return line.ToString().TrimEnd();
        }
    }
}
