using Durably.Sqlite;
using Microsoft.Extensions.Options;

namespace Durably.Hosting;

// Checks the SQLite store's options from configuration ("Durably:Sqlite") at host start.
internal sealed class SqliteJournalStoreOptionsValidator(string section) : IValidateOptions<SqliteJournalStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteJournalStoreOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            failures.Add($"{section}:Path is missing. Set it to the journal file, for example \"agent.db\" (created if missing), or remove the {section} section.");
        }

        if (options.MaxEntryBytes < 1024)
        {
            failures.Add($"{section}:MaxEntryBytes is {options.MaxEntryBytes}; it must be at least 1024 (default 4 MiB).");
        }

        if (options.BusyTimeout < TimeSpan.Zero)
        {
            failures.Add($"{section}:BusyTimeout is {options.BusyTimeout}; it must not be negative (default \"00:00:10\").");
        }

        if (!Enum.IsDefined(options.Durability))
        {
            failures.Add($"{section}:Durability is {options.Durability}; it must be Full or Normal.");
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
