using System.Text.Json;
using System.Text.Json.Serialization;

namespace Durably.Cli;

// One JSON shape for --json output and the dashboard's API: camelCase, enums as camelCase strings, nulls left out.
internal static class CliJson
{
    public static JsonSerializerOptions Options { get; } = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true });

    public static JsonSerializerOptions Compact { get; } = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;

        // Readable apostrophes and accents; the output is JSON on a terminal or served as application/json with nosniff, never inlined in HTML.
        options.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        return options;
    }
}
