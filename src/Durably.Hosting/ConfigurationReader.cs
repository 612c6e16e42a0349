using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Durably.Hosting;

// Reads typed values from one configuration section, collecting an error (naming the full key) for every value that is
// not of its type instead of stopping at the first. Hand-written rather than ConfigurationBinder: the options are
// init-only and hold shared defaults (RetryPolicy.Default) that reflection binding would change in place, and a
// reader names the key and the expected form in its error.
internal sealed class ConfigurationReader(IConfiguration section, string path)
{
    public List<string> Errors { get; } = [];

    public string Path => path;

    public string Key(string name) => path.Length == 0 ? name : $"{path}:{name}";

    public bool Has(string name) => section.GetSection(name).Exists();

    public ConfigurationReader Section(string name) => new(section.GetSection(name), Key(name));

    public string? String(string name) => section[name] is { Length: > 0 } value ? value : null;

    public int? Int(string name) => Parse<int>(name, "a whole number such as 16", v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) ? x : null);

    public double? Double(string name) => Parse<double>(name, "a number such as 0.5", v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : null);

    public bool? Bool(string name) => Parse<bool>(name, "true or false", v => bool.TryParse(v, out var x) ? x : null);

    public TimeSpan? TimeSpan(string name) => Parse<System.TimeSpan>(name, "a time span such as \"00:00:30\" (hh:mm:ss) or \"1.00:00:00\" (a day)", v => System.TimeSpan.TryParse(v, CultureInfo.InvariantCulture, out var x) ? x : null);

    public TEnum? Enum<TEnum>(string name)
        where TEnum : struct, System.Enum
        => Parse<TEnum>(name, "one of " + string.Join(", ", System.Enum.GetNames<TEnum>()),
            v => !int.TryParse(v, out _) && System.Enum.TryParse<TEnum>(v, ignoreCase: true, out var x) ? x : null);

    private T? Parse<T>(string name, string expected, Func<string, T?> parse)
        where T : struct
    {
        if (String(name) is not { } value)
        {
            return null;
        }

        if (parse(value.Trim()) is { } parsed)
        {
            return parsed;
        }

        Errors.Add($"{Key(name)} is '{value}', which is not {expected}.");
        return null;
    }
}
