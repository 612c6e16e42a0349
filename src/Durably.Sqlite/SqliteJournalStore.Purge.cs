using Durably.Storage;

namespace Durably.Sqlite;

public sealed partial class SqliteJournalStore
{
    /// <inheritdoc/>
    /// <remarks>After deleting, the file's free pages are returned to the file system with an incremental vacuum when the
    /// file was created with auto-vacuum, and otherwise reused by later writes; run <c>VACUUM</c> offline to shrink an old file.</remarks>
    public async Task<PurgeResult> PurgeRunsAsync(PurgeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        ThrowIfDisposed();
        var result = await Enqueue((store, _) =>
        {
            using var select = store._writer.CreateCommand();
            select.CommandText = $"""
                SELECT r.id, r.run_id, r.next_seq
                FROM runs r
                WHERE r.status IN ({string.Join(',', request.Statuses.Select(s => (int)s))}) AND r.status >= 3 AND r.updated_at < $before
                ORDER BY r.id LIMIT $limit
                """;
            select.Parameters.AddWithValue("$before", request.FinishedBefore.ToUnixTimeMilliseconds());
            select.Parameters.AddWithValue("$limit", request.MaxRuns);
            var keys = new List<long>();
            var ids = new List<RunId>();
            long entries = 0;
            using (var reader = select.ExecuteReader())
            {
                while (reader.Read())
                {
                    keys.Add(reader.GetInt64(0));
                    ids.Add(RunId.Parse(reader.GetString(1)));
                    entries += reader.GetInt64(2);
                }
            }

            if (!request.DryRun)
            {
                // Entries are not indexed by run (SqliteSchema says why): a run's entries are found by following its links from
                // its last entry back, one rowid lookup each, instead of scanning the whole table once per run.
                using (var chain = store._writer.CreateCommand())
                {
                    chain.CommandText = """
                        DELETE FROM entries WHERE id IN (
                            WITH RECURSIVE link(id) AS (
                                SELECT last_entry FROM runs WHERE id = $key AND last_entry IS NOT NULL
                                UNION ALL
                                SELECT e.prev FROM entries e JOIN link l ON e.id = l.id WHERE e.prev IS NOT NULL AND e.run = $key)
                            SELECT id FROM link)
                        """;
                    var key = chain.Parameters.Add("$key", Microsoft.Data.Sqlite.SqliteType.Integer);
                    foreach (var k in keys)
                    {
                        key.Value = k;
                        chain.ExecuteNonQuery();
                    }
                }

                foreach (var table in new[] { ("signals", "run"), ("blob_refs", "run"), ("runs", "id") })
                {
                    using var delete = store._writer.CreateCommand();
                    delete.CommandText = $"DELETE FROM {table.Item1} WHERE {table.Item2} = $key";
                    var key = delete.Parameters.Add("$key", Microsoft.Data.Sqlite.SqliteType.Integer);
                    foreach (var k in keys)
                    {
                        key.Value = k;
                        delete.ExecuteNonQuery();
                    }
                }
            }

            return new PurgeResult(ids, entries, request.DryRun);
        }).ConfigureAwait(false);

        if (!request.DryRun && result.Runs.Count > 0)
        {
            await Enqueue((store, _) =>
            {
                // Outside the batch transaction is not possible here; incremental_vacuum is a no-op without auto-vacuum.
                SqliteSchema.Execute(store._writer, "PRAGMA incremental_vacuum");
                return 0;
            }).ConfigureAwait(false);
        }

        return result;
    }
}
