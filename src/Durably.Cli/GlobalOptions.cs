using System.CommandLine;

namespace Durably.Cli;

// Options every command takes.
internal static class GlobalOptions
{
    public static Option<string?> Store { get; } = new("--store", "-s")
    {
        Description = "The store: a SQLite journal file path, or a PostgreSQL connection string (postgres://... or Host=...). Default: the DURABLY_STORE environment variable.",
        HelpName = "PATH|CONNECTION",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DURABLY_STORE"),
    };

    public static Option<string> Schema { get; } = new("--schema")
    {
        Description = "The PostgreSQL schema that holds the store (PostgreSQL stores only). Default: durably.",
        HelpName = "NAME",
        Recursive = true,
        DefaultValueFactory = _ => "durably",
    };

    public static Option<bool> Json { get; } = new("--json")
    {
        Description = "Write machine-readable JSON to stdout (and errors as JSON to stderr).",
        Recursive = true,
    };

    public static Option<int> BusyTimeout { get; } = new("--busy-timeout")
    {
        Description = "Seconds to wait for another process that holds the store locked before giving up with exit code 7.",
        HelpName = "SECONDS",
        Recursive = true,
        DefaultValueFactory = _ => 10,
    };
}
