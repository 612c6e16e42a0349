using Durably.Storage;

namespace Durably.Sqlite;

public sealed partial class SqliteJournalStore
{
    /// <inheritdoc/>
    /// <remarks>Runs <c>PRAGMA integrity_check</c> on a reader connection: every page, index and free list of the file is
    /// read, so it takes time proportional to the file's size. It does not block the writer (WAL).</remarks>
    public Task<IReadOnlyList<string>> CheckIntegrityAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(ReadSql<IReadOnlyList<string>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA integrity_check(100)";
            using var reader = command.ExecuteReader();
            var problems = new List<string>();
            while (reader.Read())
            {
                var line = reader.GetString(0);
                if (!string.Equals(line, "ok", StringComparison.Ordinal))
                {
                    problems.Add($"SQLite integrity check of '{Path}': {line}");
                }
            }

            return problems;
        }));
    }
}
