namespace Durably.Postgres;

public sealed partial class PostgresJournalStore
{
    // The store's statements, with the schema name filled in once (it is checked to be a plain identifier).
    private sealed class Sql(string s)
    {
        public string Channel { get; } = "durably_" + s;

        // Locks the existing runs a batch writes, in id order, so that two workers' batches touching the same runs
        // cannot deadlock, and so that the next statement's snapshot sees their final committed state.
        public string LockRuns { get; } = $"SELECT count(*) FROM (SELECT 1 FROM {s}.runs WHERE run_id = ANY($1) ORDER BY id FOR NO KEY UPDATE) AS locked";

        // Writes one wave of appends (at most one per run). A call's appends are written only if every one of
        // them finds its run at the expected sequence and lease epoch (a new run: no run with its id), so a call
        // is all or nothing and a failing call leaves the others alone. Returns the failed calls' appends with
        // what the run was at, for the exception.
        public string Append { get; } = $"""
            WITH i AS (
                SELECT * FROM unnest($1::int[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::timestamptz[], $7::text[], $8::bigint[], $9::text[])
                    AS i(call, run_id, expected, next, status, wake_at, status_detail, epoch, workflow)),
            c AS (
                SELECT i.*, r.id AS key, r.next_seq AS actual, r.lease_epoch AS current_epoch
                FROM i LEFT JOIN {s}.runs r ON r.run_id = i.run_id),
            ok AS (
                SELECT call FROM c GROUP BY call
                HAVING bool_and(coalesce(CASE WHEN expected = 0 THEN key IS NULL
                    ELSE actual = expected AND (epoch IS NULL OR current_epoch = epoch) END, false))),
            created AS (
                INSERT INTO {s}.runs(run_id, workflow, status, created_at, updated_at, next_seq, wake_at, status_detail)
                SELECT run_id, workflow, coalesce(status, 0), now(), now(), next,
                    CASE WHEN status IS NULL THEN NULL ELSE wake_at END,
                    CASE WHEN status IS NULL THEN NULL ELSE status_detail END
                FROM c WHERE expected = 0 AND call IN (SELECT call FROM ok)
                RETURNING id, run_id),
            advanced AS (
                UPDATE {s}.runs r SET next_seq = c.next, updated_at = now(),
                    status = coalesce(c.status, r.status),
                    wake_at = CASE WHEN c.status IS NULL THEN r.wake_at ELSE c.wake_at END,
                    status_detail = CASE WHEN c.status IS NULL THEN r.status_detail ELSE c.status_detail END,
                    lease_owner = CASE WHEN c.status >= 3 THEN NULL ELSE r.lease_owner END,
                    lease_expires_at = CASE WHEN c.status >= 3 THEN NULL ELSE r.lease_expires_at END
                FROM c
                WHERE r.id = c.key AND c.expected > 0 AND c.call IN (SELECT call FROM ok)
                  AND r.next_seq = c.expected AND (c.epoch IS NULL OR r.lease_epoch = c.epoch)
                RETURNING r.id, r.run_id),
            written AS (
                SELECT id, run_id FROM created UNION ALL SELECT id, run_id FROM advanced),
            inserted AS (
                INSERT INTO {s}.entries(run, seq, data)
                SELECT w.id, x.seq, x.data
                FROM unnest($10::text[], $11::bigint[], $12::bytea[]) AS x(run_id, seq, data) JOIN written w ON w.run_id = x.run_id)
            SELECT c.call, c.run_id, c.key IS NOT NULL, c.actual, c.current_epoch
            FROM c WHERE c.call NOT IN (SELECT call FROM ok)
            """;

        public string Notify { get; } = "SELECT pg_notify($1, '')";

        // Reads entries back by run id and sequence, to learn whether an in-doubt commit happened.
        public string ReadBack { get; } = $"""
            SELECT x.k, e.data
            FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS x(run_id, seq, k)
            JOIN {s}.runs r ON r.run_id = x.run_id
            JOIN {s}.entries e ON e.run = r.id AND e.seq = x.seq
            """;

        public string RunColumns { get; } = "id, run_id, workflow, status, created_at, updated_at, next_seq, wake_at, status_detail, lease_owner, lease_epoch, lease_expires_at, queue, queue_key";

        public string Schema { get; } = s;
    }
}
