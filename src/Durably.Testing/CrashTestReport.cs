using System.Globalization;
using System.Text;
using Durably.Storage;
using Xunit.Sdk;

namespace Durably.Testing;

/// <summary>Reports a crash test: the reference run's outcome and one row per crash point.</summary>
public sealed class CrashTestReport
{
    internal CrashTestReport(string workflow, RunId runId, RunOutcome reference, IReadOnlyList<CrashPointResult> points)
    {
        Workflow = workflow;
        RunId = runId;
        ReferenceStatus = reference.Status;
        ReferenceOutcome = reference.Text;
        Points = points;
    }

    /// <summary>Gets the workflow's name.</summary>
    public string Workflow { get; }

    /// <summary>Gets the run id every scenario used.</summary>
    public RunId RunId { get; }

    /// <summary>Gets how the reference run (no crash) ended.</summary>
    public RunStatus ReferenceStatus { get; }

    /// <summary>Gets the reference run's result as JSON, or its error as <c>Type: message</c>.</summary>
    public string ReferenceOutcome { get; }

    /// <summary>Gets one result per crash point, the replay of the finished journal first.</summary>
    public IReadOnlyList<CrashPointResult> Points { get; }

    /// <summary>Gets a value indicating whether every crash point passed.</summary>
    public bool Passed => Points.All(p => p.Passed);

    /// <summary>Fails the test with the report's table unless every crash point passed.</summary>
    /// <exception cref="XunitException">A crash point failed.</exception>
    public void AssertAllPassed()
    {
        if (!Passed)
        {
            throw new XunitException(ToString());
        }
    }

    /// <summary>Returns the report as a table, followed by the problem of every failed point.</summary>
    public override string ToString()
    {
        var failed = Points.Count(p => !p.Passed);
        var text = new StringBuilder();
        text.AppendLine(Invariant($"Crash test of workflow '{Workflow}' (run '{RunId}'): {Points.Count} crash point(s), {(failed == 0 ? "all passed" : $"{failed} FAILED")}."));
        text.AppendLine(Invariant($"Reference run: {ReferenceStatus}, {DeterminismHints.Shorten(ReferenceOutcome, 100)}"));
        text.AppendLine();
        string[] header = ["#", "crash point", "outcome", "effects", "model calls", "determinism", "recovery", "verdict"];
        var rows = Points.Select((p, i) => new[]
        {
            i.ToString(CultureInfo.InvariantCulture),
            DeterminismHints.Shorten(p.Point.ToString(), 48),
            p.Point.Kind == CrashPointKind.FinishedJournalReplay ? (p.Passed ? "same" : "-") : p.NonDeterminism is not null ? "stopped" : p.Outcome is null ? "did not end" : p.OutcomeMatches ? "same" : p.Note is not null ? "failed (policy)" : "DIFFERENT",
            Effects(p),
            p.RepeatedModelSteps.Count == 0 ? "ok" : string.Join(", ", p.RepeatedModelSteps.Select(m => Invariant($"'{m.Name}' x{m.Runs}"))),
            p.NonDeterminism is { } nd ? Invariant($"STEP {nd.Step} DIFFERS") : "ok",
            p.RecoveryTime is { } t ? Invariant($"{t.TotalMilliseconds:0} ms") : "-",
            p.Passed ? "pass" : "FAIL",
        }).ToList();
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[c].Length))).ToArray();
        Append(header);
        foreach (var row in rows)
        {
            Append(row);
        }

        // The same problem at several points (typical of non-determinism) is told once.
        var problems = Points.Select((p, i) => (Point: p, Index: i)).Where(x => x.Point.Problem is not null).GroupBy(x => x.Point.Problem).ToList();
        if (problems.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Problems:");
            foreach (var group in problems)
            {
                var first = group.First().Point;
                var where = group.Count() == 1 ? Invariant($"#{group.First().Index} {first.Point}") : "#" + string.Join(", #", group.Select(x => x.Index.ToString(CultureInfo.InvariantCulture)));
                text.AppendLine(Invariant($"  {where}: {group.Key}"));
                if (first.NonDeterminism is { } nd)
                {
                    text.AppendLine(Invariant($"      at step {nd.Step}: the journal holds {nd.Journaled}; the code asked for {nd.Requested}."));
                }
            }

            if (Points.Any(p => p.NonDeterminism is not null || (!p.OutcomeMatches && p.Note is null && p.Problem is not null)))
            {
                text.AppendLine();
                text.AppendLine("What to look for: " + DeterminismHints.General);
            }
        }

        return text.ToString();

        void Append(string[] cells) => text.AppendLine("  " + string.Join("  ", cells.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
    }

    private static string Effects(CrashPointResult point)
    {
        if (point.DuplicateEffects.Count > 0)
        {
            return "DUPLICATE " + string.Join(", ", point.DuplicateEffects.Select(d => Invariant($"'{d.Name}' x{d.Runs}")));
        }

        return point.InDoubtReruns.Count > 0 ? "re-ran in doubt: " + string.Join(", ", point.InDoubtReruns.Select(d => $"'{d.Name}'")) : "ok";
    }

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
