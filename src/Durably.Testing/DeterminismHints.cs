using System.Globalization;
using System.Text.Json;

namespace Durably.Testing;

// Turns a divergence into advice a user can act on.
internal static class DeterminismHints
{
    public const string General =
        "Workflow code outside step bodies must take the same path and compute the same values on every replay. "
        + "Look for DateTime.UtcNow/Now (use ctx.UtcNow), Guid.NewGuid() (use ctx.NewGuid()), new Random() or Random.Shared (use ctx.Random), "
        + "Task.Delay (use ctx.SleepAsync), elapsed-time checks, and reads of files, the network, the environment or mutable static state: "
        + "move such work into a step (ctx.StepAsync) so its result is journaled. The Durably.Analyzers package flags the common cases at compile time (DURABLY001-DURABLY004).";

    // Names the first value that differs between two JSON documents and guesses its source; empty when it cannot.
    // The general advice is given once per report, not per difference.
    public static string ForDifferentResults(string expected, string actual)
    {
        try
        {
            using var a = JsonDocument.Parse(expected);
            using var b = JsonDocument.Parse(actual);
            if (FirstDifference(a.RootElement, b.RootElement, "$") is { } diff)
            {
                return $"They first differ at {diff.Path}: {Shorten(diff.Expected)} vs {Shorten(diff.Actual)}.{Guess(diff.Expected, diff.Actual)}";
            }
        }
        catch (JsonException)
        {
        }

        return "";
    }

    private static string Guess(JsonElement expected, JsonElement actual)
    {
        if (expected.ValueKind == JsonValueKind.String && actual.ValueKind == JsonValueKind.String)
        {
            var (x, y) = (expected.GetString()!, actual.GetString()!);
            if (ContainsGuid(x) && ContainsGuid(y))
            {
                return " Both hold a GUID: the workflow probably calls Guid.NewGuid() outside a step; use ctx.NewGuid(), which is the same on every replay.";
            }

            if (ContainsTime(x) && ContainsTime(y))
            {
                return " Both hold a time: the workflow probably reads DateTime.UtcNow or DateTime.Now outside a step; use ctx.UtcNow, which is journaled.";
            }
        }

        if (expected.ValueKind == JsonValueKind.Number && actual.ValueKind == JsonValueKind.Number)
        {
            return " Both are numbers: the workflow may use new Random(), Random.Shared or the clock outside a step; use ctx.Random and ctx.UtcNow.";
        }

        return "";
    }

    private static bool ContainsGuid(string text)
        => text.Split([' ', ',', ';', ':', '/', '"', '\'', '(', ')', '[', ']', '='], StringSplitOptions.RemoveEmptyEntries).Any(t => Guid.TryParse(t, out _));

    private static bool ContainsTime(string text)
        => DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
           || text.Split(' ').Any(t => DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.None, out _) && t.Contains('T', StringComparison.Ordinal));

    private static (string Path, JsonElement Expected, JsonElement Actual)? FirstDifference(JsonElement a, JsonElement b, string path)
    {
        if (a.ValueKind != b.ValueKind)
        {
            return (path, a, b);
        }

        switch (a.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in a.EnumerateObject())
                {
                    if (!b.TryGetProperty(property.Name, out var other))
                    {
                        return (path + "." + property.Name, property.Value, default);
                    }

                    if (FirstDifference(property.Value, other, path + "." + property.Name) is { } inner)
                    {
                        return inner;
                    }
                }

                return a.EnumerateObject().Count() == b.EnumerateObject().Count() ? null : (path, a, b);
            case JsonValueKind.Array:
                var (left, right) = (a.EnumerateArray().ToList(), b.EnumerateArray().ToList());
                for (var i = 0; i < Math.Min(left.Count, right.Count); i++)
                {
                    if (FirstDifference(left[i], right[i], $"{path}[{i}]") is { } inner)
                    {
                        return inner;
                    }
                }

                return left.Count == right.Count ? null : (path, a, b);
            default:
                return a.GetRawText() == b.GetRawText() ? null : (path, a, b);
        }
    }

    public static string Shorten(string text, int max = 80) => text.Length <= max ? text : text[..(max - 3)] + "...";

    private static string Shorten(JsonElement element) => element.ValueKind == JsonValueKind.Undefined ? "(missing)" : Shorten(element.GetRawText());
}
