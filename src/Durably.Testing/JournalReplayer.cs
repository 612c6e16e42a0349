using System.Text;
using Durably.Journal;
using Durably.Storage;
using Xunit.Sdk;

namespace Durably.Testing;

/// <summary>Replays journals exported from production (<c>durably journal export</c>) against the current code, without executing any step, and reports divergence.</summary>
/// <remarks>
/// <para>Put exported journals of runs in flight next to your tests and replay them in CI: a code change that would
/// break them (a step renamed, reordered, added in the middle; another result) fails the build instead of the runs.</para>
/// <para>The journal is loaded into an in-memory store and a runtime resumes it. Every journaled step returns its recorded
/// outcome; a step that would run live is stopped before its body runs (an effect's intent write is refused, a model or
/// effect body is never called), so no side effect happens. Compute steps that the checkpoint policy did not journal run,
/// since they are pure. A finished journal must replay to the same outcome with no further step; an unfinished one must
/// replay every journaled step, after which the run may go on (the replay stops there).</para>
/// </remarks>
public static class JournalReplayer
{
    /// <summary>Replays one run's journal against the workflows <paramref name="register"/> registers.</summary>
    /// <param name="journal">The journal, as read by <see cref="JournalExport.ReadAsync"/>.</param>
    /// <param name="register">Registers the workflow (with fakes for whatever it needs at registration; step bodies do not run).</param>
    /// <param name="options">The codec and checkpoint policy of production.</param>
    /// <param name="cancellationToken">Cancels the replay.</param>
    /// <exception cref="ArgumentException">The journal is empty or does not start with <see cref="RunStarted"/>, or its workflow is not registered.</exception>
    public static async Task<ReplayResult> ReplayAsync(ExportedJournal journal, Action<DurableRuntime> register, ReplayOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentNullException.ThrowIfNull(register);
        options ??= new ReplayOptions();
        return await ReplayCoreAsync(journal, register, new ScenarioOptions(options.Codec, options.Checkpoint, RetryPolicy.None, null, null), options.Timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Replays every run in an exported journal file.</summary>
    /// <inheritdoc cref="ReplayAsync(ExportedJournal, Action{DurableRuntime}, ReplayOptions?, CancellationToken)"/>
    /// <param name="path">The JSON lines file.</param>
    /// <param name="register">Registers the workflows.</param>
    /// <param name="options">The codec and checkpoint policy of production.</param>
    /// <param name="cancellationToken">Cancels the replay.</param>
    public static async Task<IReadOnlyList<ReplayResult>> ReplayFileAsync(string path, Action<DurableRuntime> register, ReplayOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        IReadOnlyList<ExportedJournal> journals;
        await using (var file = File.OpenRead(path))
        {
            journals = await JournalExport.ReadAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        var results = new List<ReplayResult>();
        foreach (var journal in journals)
        {
            results.Add(await ReplayAsync(journal, register, options, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    /// <summary>Replays every run in an exported journal file and fails the test, listing each divergence, if any run diverges.</summary>
    /// <inheritdoc cref="ReplayFileAsync(string, Action{DurableRuntime}, ReplayOptions?, CancellationToken)"/>
    /// <exception cref="XunitException">A run diverged.</exception>
    public static async Task AssertReplaysAsync(string path, Action<DurableRuntime> register, ReplayOptions? options = null, CancellationToken cancellationToken = default)
    {
        var results = await ReplayFileAsync(path, register, options, cancellationToken).ConfigureAwait(false);
        if (results.Count == 0)
        {
            throw new XunitException($"'{path}' holds no journal to replay.");
        }

        var diverged = results.Where(r => !r.Passed).ToList();
        if (diverged.Count > 0)
        {
            var text = new StringBuilder().AppendLine(CultureInvariant($"{diverged.Count} of {results.Count} journal(s) in '{path}' diverge from the current code; deploying it would break these runs in flight:"));
            foreach (var result in diverged)
            {
                text.AppendLine(CultureInvariant($"  run '{result.RunId}' ({result.Workflow}), after {result.StepsReplayed} replayed step(s): {result.Message}"));
            }

            text.AppendLine().Append("What to look for: ").AppendLine(DeterminismHints.General);
            throw new XunitException(text.ToString());
        }
    }

    internal static async Task<ReplayResult> ReplayCoreAsync(ExportedJournal journal, Action<DurableRuntime> register, ScenarioOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (journal.Entries.Count == 0 || journal.Entries[0] is not RunStarted started)
        {
            throw new ArgumentException($"The journal of run '{journal.RunId}' does not start with a run.started entry.", nameof(journal));
        }

        var folded = RunHistory.FromJournal(journal.Entries);
        var terminal = folded.End;
        IReadOnlyList<JournalEntry> history = terminal is null ? journal.Entries : [.. journal.Entries.Where(e => e != terminal)];
        var maxStep = folded.LastStep;
        var runId = journal.RunId;
        await using var scenario = new Scenario(register, options, history[^1].Timestamp);

        // Loaded as it was stored; from here on the store accepts no entry but the run's end.
        await scenario.Store.Inner.AppendAsync([new RunAppend(runId, 0, history) { Status = RunStatus.Running }], cancellationToken).ConfigureAwait(false);
        if (terminal is RunCancelled)
        {
            await scenario.Store.Inner.DeliverSignalAsync(runId, new SignalMessage("$cancel", options.Codec.Encode((terminal as RunCancelled)!.Reason ?? "cancelled")), cancellationToken).ConfigureAwait(false);
        }

        scenario.Store.CrashWhen(a => a.Entries.Any(e => e is not (RunCompleted or RunFailed or RunCancelled or RunResumed)));
        StepInfo? live = null;
        scenario.Ledger.BeforeLiveStep = step =>
        {
            if (step.Kind == StepKind.Compute && step.Step <= maxStep)
            {
                return; // not journaled under the checkpoint policy: pure, so it may run
            }

            Interlocked.CompareExchange(ref live, step, null);
            throw new LiveStepRefusedException(step);
        };

        var runtime = await scenario.StartRuntimeAsync("journal-replayer").ConfigureAwait(false);
        if (!runtime.Workflows.Contains(started.Workflow))
        {
            throw new ArgumentException($"The journal of run '{runId}' is a run of workflow '{started.Workflow}', which the register delegate does not register (it registers: {string.Join(", ", runtime.Workflows)}).", nameof(register));
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var run = await scenario.DriveAsync(runtime, runId, r => Volatile.Read(ref live) is not null || scenario.Store.Crashed || r?.Status == RunStatus.Suspended, deadline.Token).ConfigureAwait(false);
        await runtime.StopAsync().ConfigureAwait(false);
        run = await scenario.Store.GetRunAsync(runId, CancellationToken.None).ConfigureAwait(false);
        var replayed = scenario.Ledger.Replayed;

        ReplayResult Result(ReplayVerdict verdict, string message, NonDeterminismInfo? nd = null) => new()
        {
            RunId = runId,
            Workflow = started.Workflow,
            Verdict = verdict,
            Message = message,
            StepsReplayed = replayed,
            NonDeterminism = nd,
        };

        if (scenario.Logs.NonDeterminism is { } nd)
        {
            return Result(ReplayVerdict.Diverged, nd.Message, NonDeterminismInfo.From(nd));
        }

        var end = terminal is null ? null : $"The journal ends with {Describe(terminal)}";
        var next = live is { } l ? $"step {l.Step} '{l.Name}' ({l.Kind.ToString().ToLowerInvariant()}) would run live" : scenario.Store.FirstRefused is { } refused ? $"the code would write {Describe(refused)}" : null;
        if (next is not null)
        {
            return end is null
                ? Result(ReplayVerdict.ReachedEndOfJournal, $"Replayed every journaled step; then {next}.")
                : Result(ReplayVerdict.Diverged, $"{end}, but {next}: the code does more than the run did.");
        }

        if (run is { Status: RunStatus.Suspended })
        {
            return end is null
                ? Result(ReplayVerdict.ReachedEndOfJournal, $"Replayed every journaled step; the run now waits ({run.StatusDetail}).")
                : Result(ReplayVerdict.Diverged, $"{end}, but the code waits ({run.StatusDetail}).");
        }

        var entries = await scenario.Store.ReadAsync(runId, 0, CancellationToken.None).ConfigureAwait(false);
        var outcome = RunOutcome.FromJournal(entries, run, options.Codec);
        if (outcome is null)
        {
            var failure = scenario.Logs.ExecutionFailure is { } ex ? $": {ex.GetType().Name}: {ex.Message}" : "";
            return Result(ReplayVerdict.Diverged, $"The replay did not finish within {timeout.TotalSeconds:0.#} s (status {run?.Status}{failure}).");
        }

        if (terminal is null)
        {
            return Result(ReplayVerdict.ReachedEndOfJournal, $"Replayed every journaled step; the code then ends the run: {DeterminismHints.Shorten(outcome.Text)}.");
        }

        var expected = RunOutcome.FromJournal(journal.Entries, null, options.Codec)!;
        if (expected.Status == outcome.Status && expected.Text == outcome.Text)
        {
            return Result(ReplayVerdict.Matched, $"Replayed {replayed} step(s) to the same outcome.");
        }

        return Result(ReplayVerdict.Diverged, $"The journal's run ended {expected.Status} with {DeterminismHints.Shorten(expected.Text)}, the replay ends {outcome.Status} with {DeterminismHints.Shorten(outcome.Text)}. "
            + (expected.Status == outcome.Status && outcome.Status == RunStatus.Completed ? DeterminismHints.ForDifferentResults(expected.Text, outcome.Text) : ""));
    }

    internal static string Describe(JournalEntry entry) => entry switch
    {
        StepStarted s => $"step {s.Step} '{s.Name}' ({s.Kind.ToString().ToLowerInvariant()})",
        StepCompleted c => $"the outcome of step {c.Step}",
        StepFailed f => $"the failure of step {f.Step}",
        SignalReceived r => $"the receipt of signal '{r.Name}' at step {r.Step}",
        TimerStarted t => $"a timer at step {t.Step}",
        TimerFired t => $"the firing of the timer at step {t.Step}",
        RunCompleted => "the run's completion",
        RunFailed f => $"the run's failure ({f.Error.Type})",
        RunCancelled => "the run's cancellation",
        _ => entry.GetType().Name,
    };

    private static string CultureInvariant(FormattableString text) => FormattableString.Invariant(text);
}

// Stops a step body from running during a replay; a DurablyException, so the runtime abandons the run quietly.
internal sealed class LiveStepRefusedException(StepInfo step)
    : DurablyException($"Replay only: step {step.Step} '{step.Name}' is not in the journal and would run live; the replayer stopped it before its body ran.");
