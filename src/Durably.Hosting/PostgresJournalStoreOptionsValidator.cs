using Durably.Postgres;
using Microsoft.Extensions.Options;

namespace Durably.Hosting;

// Checks the PostgreSQL store's options from configuration ("Durably:Postgres") at host start.
internal sealed class PostgresJournalStoreOptionsValidator(string section) : IValidateOptions<PostgresJournalStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresJournalStoreOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString) && options.DataSource is null)
        {
            failures.Add($"{section} has no connection string. Set {section}:ConnectionString, or {section}:ConnectionStringName to the name of an entry of ConnectionStrings.");
        }

        if (string.IsNullOrWhiteSpace(options.Schema))
        {
            failures.Add($"{section}:Schema is empty. Leave it out for \"durably\".");
        }

        if (!Enum.IsDefined(options.SchemaMode))
        {
            failures.Add($"{section}:SchemaMode is {options.SchemaMode}; it must be one of {string.Join(", ", Enum.GetNames<PostgresSchemaMode>())}.");
        }

        if (options.MaxEntryBytes < 1024)
        {
            failures.Add($"{section}:MaxEntryBytes is {options.MaxEntryBytes}; it must be at least 1024 (default 4 MiB).");
        }

        if (options.MaxBatchSize < 1)
        {
            failures.Add($"{section}:MaxBatchSize is {options.MaxBatchSize}; it must be at least 1 (default 512).");
        }

        if (options.InDoubtResolutionTimeout < TimeSpan.Zero)
        {
            failures.Add($"{section}:InDoubtResolutionTimeout is {options.InDoubtResolutionTimeout}; it must not be negative (default \"00:00:30\").");
        }

        if (options.ListenerKeepAlive <= TimeSpan.Zero)
        {
            failures.Add($"{section}:ListenerKeepAlive is {options.ListenerKeepAlive}; it must be greater than zero (default \"00:00:30\").");
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
