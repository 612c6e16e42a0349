using System.Text.Json;
using System.Text.Json.Nodes;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Cli;

// Which listed runs are child runs (RunContext.RunChildAsync), and of which parent, for `durably runs list` and the dashboard's
// run list. A child's id is RunId.ForChild's '{parent}:c{step}' and its first journal entry names its parent, so only runs
// with such an id are read, to confirm it: a listing of runs that are not children reads no journal.
internal static class RunLinks
{
    public static async Task<IReadOnlyDictionary<RunId, RunId>> ParentsAsync(DurableClient client, IEnumerable<RunRecord> runs, CancellationToken cancellationToken)
    {
        var parents = new Dictionary<RunId, RunId>();
        foreach (var run in runs.Where(r => MayBeChild(r.RunId)))
        {
            try
            {
                var entries = await client.Store.ReadAsync(run.RunId, 0, cancellationToken);
                if (entries is [RunStarted { ParentRunId: { } parent }, ..])
                {
                    parents[run.RunId] = parent;
                }
            }
            catch (RunNotFoundException)
            {
                // Purged since it was listed.
            }
        }

        return parents;
    }

    // The runs as --json and the dashboard show them: each run's index record, and the parent of a child run.
    public static JsonArray ToJson(IEnumerable<RunRecord> runs, IReadOnlyDictionary<RunId, RunId> parents, JsonSerializerOptions options)
    {
        var array = new JsonArray();
        foreach (var run in runs)
        {
            var node = JsonSerializer.SerializeToNode(run, options)!.AsObject();
            if (parents.TryGetValue(run.RunId, out var parent))
            {
                node["parentRunId"] = parent.Value;
            }

            array.Add(node);
        }

        return array;
    }

    private static bool MayBeChild(RunId runId)
    {
        var id = runId.Value;
        var at = id.LastIndexOf(":c", StringComparison.Ordinal);
        return at > 0 && at + 2 < id.Length && id.AsSpan(at + 2).IndexOfAnyExceptInRange('0', '9') < 0;
    }
}
