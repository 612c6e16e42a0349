using System.Globalization;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Cli;

// Turns command-line text into values, or into a message that says what was wrong and what to do (exit code 4).
internal static class Inputs
{
    public static RunId RunId(string? text, string what = "run id")
    {
        if (text is null)
        {
            throw new CliException(ExitCodes.BadInput, $"No {what} given.");
        }

        // Validate's message shows the id itself, shortened and with control characters escaped.
        if (Durably.RunId.Validate(text) is { } error)
        {
            throw new CliException(ExitCodes.BadInput, $"That is not a valid {what}. {error}");
        }

        return Durably.RunId.Parse(text);
    }

    public static Payload Json(string text, string what) => Json(System.Text.Encoding.UTF8.GetBytes(text), what);

    // Reads a JSON value from standard input ("-" in place of the JSON argument). More than the store accepts per entry
    // is counted, not kept, so that the error can say how large it was.
    public static async Task<Payload> JsonFromStandardInputAsync(string what, CancellationToken cancellationToken)
    {
        const int Limit = StoreLimits.DefaultMaxEntryBytes;
        await using var input = Console.OpenStandardInput();
        using var kept = new MemoryStream();
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await input.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += read;
            if (total <= Limit)
            {
                kept.Write(buffer, 0, read);
            }
        }

        StoreLimits.CheckSize($"The {what} on standard input", total, Limit);
        return Json(kept.ToArray(), what);
    }

    private static Payload Json(byte[] utf8, string what)
    {
        try
        {
            return Payload.FromJson(utf8);
        }
        catch (ArgumentException ex)
        {
            var reason = ex.Message.Replace(" (Parameter 'data')", string.Empty, StringComparison.Ordinal);
            throw new CliException(ExitCodes.BadInput, $"The {what} is not valid JSON: {reason} Give one JSON value, quoted for your shell, for example '{{\"approved\":true}}', '42' or '\"text\"' (a string needs its own double quotes).");
        }
    }

    public static RunStatus Status(string text)
    {
        if (!Enum.TryParse<RunStatus>(text, ignoreCase: true, out var status) || !Enum.IsDefined(status) || int.TryParse(text, out _))
        {
            throw new CliException(ExitCodes.BadInput, $"'{text}' is not a run status. Use one of: {string.Join(", ", Enum.GetNames<RunStatus>().Select(n => n.ToLowerInvariant()))}.");
        }

        return status;
    }

    // "30d", "12h", "90m", "45s", "2w": how long ago a run must have finished to be purged.
    public static TimeSpan Duration(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length >= 2
            && double.TryParse(trimmed[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount)
            && amount >= 0 && double.IsFinite(amount))
        {
            var unit = char.ToLowerInvariant(trimmed[^1]);
            double? days = unit switch
            {
                'w' => amount * 7,
                'd' => amount,
                'h' => amount / 24,
                'm' => amount / 1440,
                's' => amount / 86400,
                _ => null,
            };
            if (days is { } d && d <= 365 * 1000)
            {
                return TimeSpan.FromDays(d);
            }
        }

        throw new CliException(ExitCodes.BadInput, $"'{text}' is not a duration. Give a number and a unit: s, m, h, d or w, for example 30d or 12h.");
    }
}
