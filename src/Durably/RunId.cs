using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Durably;

/// <summary>Identifies one run of a workflow; the id is also the run's deduplication key.</summary>
/// <remarks>
/// A run id is 1 to <see cref="MaxLength"/> characters from <c>A-Z a-z 0-9</c> and <c>- _ . : @</c>,
/// starting with a letter or a digit. The set excludes path separators, whitespace and control
/// characters, and ids are never used to build file paths, so a caller-supplied id cannot reach the
/// file system. Ids are compared ordinally (case-sensitive).
/// </remarks>
[JsonConverter(typeof(RunIdJsonConverter))]
public readonly record struct RunId : IComparable<RunId>
{
    /// <summary>The longest run id accepted, in characters.</summary>
    public const int MaxLength = 128;

    private readonly string? _value;

    /// <summary>Creates a run id from <paramref name="value"/> after validating it.</summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> is empty, too long or has a character outside the allowed set.</exception>
    public RunId(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var error = Validate(value);
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(value));
        }

        _value = value;
    }

    /// <summary>Gets the id's text.</summary>
    public string Value => _value ?? throw new InvalidOperationException("This RunId is the default value and holds no id. Create one with new RunId(text) or RunId.New().");

    /// <summary>Creates a new random run id (<c>run-</c> followed by 32 hex digits).</summary>
    public static RunId New() => new("run-" + Guid.NewGuid().ToString("N"));

    /// <summary>Returns the id of the child run that step <paramref name="step"/> of run <paramref name="parent"/> starts with <c>RunContext.RunChildAsync</c>: <c>{parent}:c{step}</c>.</summary>
    /// <remarks>The id depends only on the parent's id and the step number, so every replay and every process derives the same one,
    /// and the child is started once. When <c>{parent}:c{step}</c> would be longer than <see cref="MaxLength"/>, the parent's id is
    /// cut and a hash of the whole of it added (<c>{start of parent}.{16 hex digits}:c{step}</c>), which keeps ids of different parents apart.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is less than 1.</exception>
    public static RunId ForChild(RunId parent, int step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        var suffix = ":c" + step.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var id = parent.Value + suffix;
        if (id.Length > MaxLength)
        {
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(parent.Value)))[..16];
            id = parent.Value[..(MaxLength - suffix.Length - hash.Length - 1)] + "." + hash + suffix;
        }

        return new RunId(id);
    }

    /// <summary>Parses <paramref name="value"/> into a run id.</summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> is not a valid run id.</exception>
    public static RunId Parse(string value) => new(value);

    /// <summary>Tries to parse <paramref name="value"/> into a run id without throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out RunId runId)
    {
        if (value is not null && Validate(value) is null)
        {
            runId = new RunId(value, trusted: true);
            return true;
        }

        runId = default;
        return false;
    }

    /// <summary>Returns why <paramref name="value"/> is not a valid run id, or <see langword="null"/> when it is.</summary>
    public static string? Validate(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        const string Allowed = "A run id is 1 to 128 characters from A-Z, a-z, 0-9 and - _ . : @, starting with a letter or digit.";
        if (value.Length == 0)
        {
            return "The run id is empty. " + Allowed;
        }

        if (value.Length > MaxLength)
        {
            return $"The run id is {value.Length} characters long; the limit is {MaxLength}. " + Allowed;
        }

        if (!char.IsAsciiLetterOrDigit(value[0]))
        {
            return $"The run id '{Printable(value)}' starts with '{Printable(value[0].ToString())}'. " + Allowed;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.' or ':' or '@'))
            {
                return $"The run id '{Printable(value)}' has the character '{Printable(c.ToString())}' at position {i}. " + Allowed;
            }
        }

        return null;
    }

    /// <inheritdoc/>
    public int CompareTo(RunId other) => string.CompareOrdinal(_value, other._value);

    /// <inheritdoc/>
    public bool Equals(RunId other) => string.Equals(_value, other._value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => _value is null ? 0 : StringComparer.Ordinal.GetHashCode(_value);

    /// <summary>Returns the id's text.</summary>
    public override string ToString() => _value ?? string.Empty;

    /// <summary>Compares two run ids ordinally.</summary>
    public static bool operator <(RunId left, RunId right) => left.CompareTo(right) < 0;

    /// <summary>Compares two run ids ordinally.</summary>
    public static bool operator >(RunId left, RunId right) => left.CompareTo(right) > 0;

    /// <summary>Compares two run ids ordinally.</summary>
    public static bool operator <=(RunId left, RunId right) => left.CompareTo(right) <= 0;

    /// <summary>Compares two run ids ordinally.</summary>
    public static bool operator >=(RunId left, RunId right) => left.CompareTo(right) >= 0;

    /// <summary>Converts a string to a validated run id.</summary>
    public static explicit operator RunId(string value) => new(value);

    // Used where the text was validated already (reading back from a store).
    private RunId(string value, bool trusted)
    {
        _ = trusted;
        _value = value;
    }

    internal static RunId FromTrusted(string value) => new(value, trusted: true);

    private static string Printable(string value)
    {
        var shown = value.Length > 40 ? value[..40] + "..." : value;
        var builder = new System.Text.StringBuilder(shown.Length);
        foreach (var c in shown)
        {
            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                builder.Append($"\\u{(int)c:x4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}

internal sealed class RunIdJsonConverter : JsonConverter<RunId>
{
    public override RunId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString() ?? throw new JsonException("A run id must be a string.");
        if (RunId.Validate(text) is { } error)
        {
            throw new JsonException(error);
        }

        return RunId.FromTrusted(text);
    }

    public override void Write(Utf8JsonWriter writer, RunId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}
