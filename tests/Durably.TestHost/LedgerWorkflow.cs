using Npgsql;

namespace Durably.TestHost;

/// <summary>The workflow the multi-worker PostgreSQL tests run: twelve steps, eight of them effects applied to a fenced ledger in the database.</summary>
/// <remarks>
/// The ledger stands for an outside API that honours <c>Idempotency-Key</c> and <c>X-Fencing-Token</c>: <c>fences</c> keeps
/// the highest lease epoch seen per run and refuses calls with a lower one; <c>effects</c> holds one row per idempotency key
/// (applied once); <c>attempts</c> logs every call, accepted or not, with the worker and epoch that made it.
/// </remarks>
public static class LedgerWorkflow
{
    /// <summary>The workflow's name.</summary>
    public const string Name = "ledger-steps";

    /// <summary>The steps in call order; step number = index + 1.</summary>
    public static readonly IReadOnlyList<string> Steps =
    [
        "plan", "fetch-a", "fetch-b", "fetch-c", "analyze", "write-a", "write-b", "review", "notify", "publish", "archive", "summarize",
    ];

    /// <summary>Returns whether the step has a side effect.</summary>
    public static bool IsEffect(string step) => step is not ("plan" or "analyze" or "review" or "summarize");

    /// <summary>Returns the idempotency keys of the run's effect steps.</summary>
    public static IEnumerable<string> EffectKeys(RunId runId) => Steps.Select((name, i) => (name, step: i + 1)).Where(s => IsEffect(s.name)).Select(s => $"{runId.Value}:{s.step}");

    /// <summary>Returns the DDL of the ledger tables in <paramref name="schema"/>.</summary>
    public static string LedgerSql(string schema) => $"""
        CREATE TABLE {schema}.fences(run_id text PRIMARY KEY, epoch bigint NOT NULL);
        CREATE TABLE {schema}.effects(key text PRIMARY KEY, run_id text NOT NULL, step int NOT NULL, worker text NOT NULL, epoch bigint NOT NULL, applied_at timestamptz NOT NULL);
        CREATE TABLE {schema}.attempts(id bigserial PRIMARY KEY, key text NOT NULL, run_id text NOT NULL, step int NOT NULL, worker text NOT NULL, epoch bigint NOT NULL, at timestamptz NOT NULL, accepted boolean NOT NULL, applied boolean NOT NULL);
        """;

    /// <summary>Registers the workflow; effect bodies call the ledger in <paramref name="schema"/> through <paramref name="ledger"/>.</summary>
    public static void Register(DurableRuntime runtime, NpgsqlDataSource ledger, string schema, string worker)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var apply = $"""
            WITH fence AS (
                INSERT INTO {schema}.fences AS f(run_id, epoch) VALUES ($2, $5)
                ON CONFLICT (run_id) DO UPDATE SET epoch = excluded.epoch WHERE f.epoch <= excluded.epoch
                RETURNING 1),
            applied AS (
                INSERT INTO {schema}.effects(key, run_id, step, worker, epoch, applied_at)
                SELECT $1, $2, $3, $4, $5, clock_timestamp() WHERE EXISTS (SELECT 1 FROM fence)
                ON CONFLICT (key) DO NOTHING
                RETURNING 1)
            INSERT INTO {schema}.attempts(key, run_id, step, worker, epoch, at, accepted, applied)
            SELECT $1, $2, $3, $4, $5, clock_timestamp(), EXISTS (SELECT 1 FROM fence), EXISTS (SELECT 1 FROM applied)
            RETURNING accepted
            """;
        runtime.Register<string, string>(Name, async (ctx, topic) =>
        {
            var last = topic;
            foreach (var name in Steps)
            {
                var options = IsEffect(name) ? StepOptions.IdempotentEffect : new StepOptions();
                last = await ctx.StepAsync(name, async step =>
                {
                    if (!IsEffect(name))
                    {
                        await Task.Delay(Random.Shared.Next(5, 30), step.CancellationToken);
                        return $"{name} by {worker}";
                    }

                    await using (var command = ledger.CreateCommand(apply))
                    {
                        command.Parameters.Add(new NpgsqlParameter { Value = step.IdempotencyKey });
                        command.Parameters.Add(new NpgsqlParameter { Value = step.RunId.Value });
                        command.Parameters.Add(new NpgsqlParameter { Value = step.Step });
                        command.Parameters.Add(new NpgsqlParameter { Value = worker });
                        command.Parameters.Add(new NpgsqlParameter { Value = step.FencingToken });
                        if (await command.ExecuteScalarAsync(step.CancellationToken) is not true)
                        {
                            throw new InvalidOperationException($"The ledger refused fencing token {step.FencingToken} for {step.IdempotencyKey}: a newer worker holds the run.");
                        }
                    }

                    // The call takes a while to answer, so kills and pauses land inside effects as well as between them.
                    await Task.Delay(Random.Shared.Next(500, 1500), step.CancellationToken);
                    return $"{name} by {worker} at epoch {step.FencingToken}";
                }, options);
            }

            return last;
        });
    }
}
