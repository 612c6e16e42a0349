using System.Diagnostics;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Testing;

/// <summary>Crashes a workflow at every step boundary in turn, recovers it, and reports whether it is replay-safe.</summary>
/// <remarks>
/// <para>The tester first runs the workflow once without a crash, on an in-memory store and a fake clock, to record the
/// reference outcome and journal, and replays that finished journal against the code. Then, for every durable write
/// of the reference run (the start, each step's outcome, each wait, and for effect steps the in-doubt window: intent
/// durable, body run, outcome not durable), it runs the workflow again on a fresh store, makes every write from that
/// point on fail as a dead process would, stops the runtime, starts a new runtime on the same store and lets it recover
/// the run to its end.</para>
/// <para>Per crash point it reports whether the outcome equals the reference, which effect bodies ran again although
/// their outcome was durable (duplicates, counted by idempotency key), which in-doubt effects were re-run, which model
/// steps ran twice, any non-determinism the runtime detected, and how long recovery took.</para>
/// <para>Timers pass on the fake clock without waiting; signals are answered by <see cref="CrashTestOptions.Signals"/>
/// (approval gates are approved by default). Scenarios run one after another and share the objects your register
/// delegate captures, unless you use the overload that makes fresh fakes per scenario.</para>
/// </remarks>
public sealed class CrashTester
{
    private readonly string _workflow;
    private readonly Func<Action<DurableRuntime>> _newWorld;
    private readonly Func<DurableRuntime, RunId, Task> _start;

    private CrashTester(string workflow, Func<Action<DurableRuntime>> newWorld, Func<DurableRuntime, RunId, Task> start, CrashTestOptions options)
    {
        _workflow = workflow;
        _newWorld = newWorld;
        _start = start;
        Options = options;
    }

    /// <summary>Gets the options.</summary>
    public CrashTestOptions Options { get; }

    /// <summary>Creates a tester for a workflow with fresh fakes in every scenario.</summary>
    /// <param name="workflow">The name the workflow is registered under.</param>
    /// <param name="input">The run's input.</param>
    /// <param name="fakes">Makes the outside world the workflow talks to (fake tools, a scripted chat client): once per scenario, shared by the runtimes before and after its crash.</param>
    /// <param name="register">Registers the workflow with a runtime, using the fakes.</param>
    /// <param name="options">Run id, codec, policies, signal answers.</param>
    public static CrashTester For<TFakes, TInput>(string workflow, TInput input, Func<TFakes> fakes, Action<DurableRuntime, TFakes> register, CrashTestOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(workflow);
        ArgumentNullException.ThrowIfNull(fakes);
        ArgumentNullException.ThrowIfNull(register);
        return new CrashTester(
            workflow,
            () =>
            {
                var world = fakes();
                return runtime => register(runtime, world);
            },
            (runtime, runId) => runtime.Client.StartAsync(workflow, input, new StartRunOptions { RunId = runId }),
            options ?? new CrashTestOptions());
    }

    /// <summary>Creates a tester for a workflow whose register delegate captures the fakes itself (shared by every scenario).</summary>
    /// <inheritdoc cref="For{TFakes, TInput}(string, TInput, Func{TFakes}, Action{DurableRuntime, TFakes}, CrashTestOptions?)"/>
    public static CrashTester For<TInput>(string workflow, TInput input, Action<DurableRuntime> register, CrashTestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(register);
        return For<Action<DurableRuntime>, TInput>(workflow, input, () => register, (runtime, r) => r(runtime), options);
    }

    /// <summary>Creates a tester for a class-form workflow; <paramref name="factory"/> makes its instances.</summary>
    /// <param name="factory">Makes a workflow instance, as given to <see cref="DurableRuntime.Register{TInput, TResult}(Func{Workflow{TInput, TResult}})"/>.</param>
    /// <param name="input">The run's input.</param>
    /// <param name="options">Run id, codec, policies, signal answers.</param>
    public static CrashTester For<TInput, TResult>(Func<Workflow<TInput, TResult>> factory, TInput input, CrashTestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return For(factory().Name, input, runtime => runtime.Register(factory), options);
    }

    /// <summary>Runs the reference run and every crash point, and fails the test with the report's table unless every point passed.</summary>
    /// <returns>The report, for further assertions.</returns>
    /// <exception cref="Xunit.Sdk.XunitException">A crash point failed.</exception>
    public async Task<CrashTestReport> AssertReplaySafeAsync(CancellationToken cancellationToken = default)
    {
        var report = await RunAsync(cancellationToken).ConfigureAwait(false);
        report.AssertAllPassed();
        return report;
    }

    /// <summary>Runs the reference run and every crash point, and reports each.</summary>
    /// <exception cref="InvalidOperationException">The reference run did not finish (it waits for a signal nobody answers, or it hangs).</exception>
    public async Task<CrashTestReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var options = new ScenarioOptions(Options.Codec, Options.Checkpoint, Options.DefaultRetry, Options.Signals, Options.ResolveInDoubt);
        var runId = Options.RunId;

        IReadOnlyList<JournalEntry> journal;
        IReadOnlyList<RunAppend> appends;
        RunOutcome reference;
        await using (var scenario = new Scenario(_newWorld(), options))
        {
            var runtime = await scenario.StartRuntimeAsync("crash-tester").ConfigureAwait(false);
            await _start(runtime, runId).ConfigureAwait(false);
            using var deadline = Deadline(cancellationToken);
            var run = await scenario.DriveAsync(runtime, runId, _ => false, deadline.Token).ConfigureAwait(false);
            journal = await scenario.Store.ReadAsync(runId, 0, CancellationToken.None).ConfigureAwait(false);
            appends = scenario.Store.Appends;
            reference = RunOutcome.FromJournal(journal, run, Options.Codec)
                ?? throw new InvalidOperationException($"The reference run of '{_workflow}' did not finish within {Options.Timeout.TotalSeconds:0.#} s: it is {run?.Status} ({run?.StatusDetail ?? scenario.Unanswered ?? scenario.Logs.ExecutionFailure?.Message}). "
                    + (scenario.Unanswered is { } why ? $"The {why}; answer it with CrashTestOptions.Signals." : "A crash test needs a run that finishes."));
            if (scenario.Logs.NonDeterminism is { } nd)
            {
                // Suspensions replay too: the reference itself can diverge.
                return new CrashTestReport(_workflow, runId, reference, [Failed(new CrashPoint(CrashPointKind.FinishedJournalReplay, 0, null, null, null), nd)]);
            }
        }

        var results = new List<CrashPointResult>();
        var replay = await JournalReplayer.ReplayCoreAsync(new ExportedJournal(runId, journal), _newWorld(), options, Options.Timeout, cancellationToken).ConfigureAwait(false);
        results.Add(new CrashPointResult
        {
            Point = new CrashPoint(CrashPointKind.FinishedJournalReplay, journal.Count - 1, null, null, null),
            Passed = replay.Passed,
            Status = reference.Status,
            OutcomeMatches = replay.Passed,
            NonDeterminism = replay.NonDeterminism,
            Problem = replay.Passed ? null : replay.Message,
        });

        foreach (var point in CrashPoints(journal, appends))
        {
            results.Add(await CrashAtAsync(point, reference, options, cancellationToken).ConfigureAwait(false));
        }

        return new CrashTestReport(_workflow, runId, reference, results);
    }

    // One point per acknowledged write of the reference run, except its last (the run's end).
    private static IEnumerable<CrashPoint> CrashPoints(IReadOnlyList<JournalEntry> journal, IReadOnlyList<RunAppend> appends)
    {
        var intents = journal.OfType<StepStarted>().GroupBy(s => s.Step).ToDictionary(g => g.Key, g => g.First());
        foreach (var append in appends)
        {
            var last = append.Entries[^1];
            if (last is RunCompleted or RunFailed or RunCancelled)
            {
                continue;
            }

            var sequence = last.Sequence;
            var (kind, step) = last switch
            {
                RunStarted => (CrashPointKind.AfterRunStarted, (int?)null),
                StepStarted { Kind: StepKind.Effect } s => (CrashPointKind.InDoubt, s.Step),
                StepStarted s => (CrashPointKind.AfterWaitStarted, s.Step),
                TimerStarted t => (CrashPointKind.AfterWaitStarted, t.Step),
                SignalReceived r => (CrashPointKind.AfterWaitEnded, r.Step),
                TimerFired f => (CrashPointKind.AfterWaitEnded, f.Step),
                StepCompleted c => (CrashPointKind.AfterStep, c.Step),
                StepFailed f => (CrashPointKind.AfterStep, f.Step),
                _ => (CrashPointKind.AfterStep, null),
            };
            var intent = step is { } n && intents.TryGetValue(n, out var i) ? i : null;
            yield return new CrashPoint(kind, sequence, step, intent?.Name, intent?.Kind);
        }
    }

    private async Task<CrashPointResult> CrashAtAsync(CrashPoint point, RunOutcome reference, ScenarioOptions options, CancellationToken cancellationToken)
    {
        var runId = Options.RunId;
        await using var scenario = new Scenario(_newWorld(), options);
        scenario.Store.CrashWhen(a => a.Entries.Any(e => e.Sequence > point.Sequence));
        var before = await scenario.StartRuntimeAsync("crash-tester").ConfigureAwait(false);
        await _start(before, runId).ConfigureAwait(false);
        RunRecord? run;
        using (var deadline = Deadline(cancellationToken))
        {
            run = await scenario.DriveAsync(before, runId, _ => scenario.Store.Crashed, deadline.Token).ConfigureAwait(false);
        }

        // The crash: the process is gone, whatever it was doing. Its lease stays; the next incarnation takes it back.
        await before.StopAsync().ConfigureAwait(false);
        if (!scenario.Store.Crashed)
        {
            var nd = scenario.Logs.NonDeterminism;
            return new CrashPointResult
            {
                Point = point,
                Passed = false,
                Status = run?.Status,
                NonDeterminism = nd is null ? null : NonDeterminismInfo.From(nd),
                Problem = nd?.Message
                    ?? $"The run never reached this crash point: it {(run?.Status.IsFinished() == true ? $"ended {run.Status}" : $"stopped {run?.Status} ({run?.StatusDetail ?? scenario.Unanswered})")} after writing other entries than the reference run. A second run with the same input takes another path.",
            };
        }

        scenario.Ledger.AfterCrash = true;
        scenario.Store.Revive();
        var clock = Stopwatch.StartNew();
        var after = await scenario.StartRuntimeAsync("crash-tester").ConfigureAwait(false);
        using (var deadline = Deadline(cancellationToken))
        {
            run = await scenario.DriveAsync(after, runId, _ => false, deadline.Token).ConfigureAwait(false);
        }

        var recovery = clock.Elapsed;
        await after.StopAsync().ConfigureAwait(false);
        var journal = await scenario.Store.ReadAsync(runId, 0, CancellationToken.None).ConfigureAwait(false);
        return Judge(point, reference, scenario, run, journal, recovery);
    }

    private CrashPointResult Judge(CrashPoint point, RunOutcome reference, Scenario scenario, RunRecord? run, IReadOnlyList<JournalEntry> journal, TimeSpan recovery)
    {
        var runId = Options.RunId;
        var (afterOutcome, inFlight) = scenario.Ledger.Repeats();
        StepRuns Runs((RunId Run, StepInfo Step) s) => new(s.Step.Step, s.Step.Name, s.Step.Kind, $"{s.Run.Value}:{s.Step.Step}", scenario.Ledger.Runs(s.Run, s.Step.Step));
        var duplicates = afterOutcome.Where(s => s.Step.Kind == StepKind.Effect).Select(Runs).ToList();
        var models = afterOutcome.Where(s => s.Step.Kind == StepKind.Model).Select(Runs).ToList();
        // An effect re-run from its in-doubt window is expected when its target deduplicates (Retry) or a person said so
        // (AskHuman). Under Reconcile it means the callback answered "not done" for a body that had completed.
        var policies = journal.OfType<StepStarted>().Where(s => s.InDoubt is not null).GroupBy(s => s.Step).ToDictionary(g => g.Key, g => g.First().InDoubt);
        // (Policies are read from the run under test's journal; a child run's effects count as re-runs.)
        var inFlightEffects = inFlight.Where(s => s.Step.Kind == StepKind.Effect).ToList();
        bool Reconciled((RunId Run, StepInfo Step) s) => s.Run == runId && policies.GetValueOrDefault(s.Step.Step) == InDoubtPolicy.Reconcile;
        var misreconciled = inFlightEffects.Where(Reconciled).Select(Runs).ToList();
        duplicates.AddRange(misreconciled);
        var reruns = inFlightEffects.Where(s => !Reconciled(s)).Select(Runs).ToList();
        var nd = scenario.Logs.NonDeterminism;
        var outcome = RunOutcome.FromJournal(journal, run, Options.Codec);
        var matches = outcome is not null && outcome.Status == reference.Status && outcome.Text == reference.Text;
        var failedAsDeclared = point.Kind == CrashPointKind.InDoubt && outcome is { Status: RunStatus.Failed or RunStatus.Compensated } && outcome.Text.Contains(typeof(InDoubtException).FullName!, StringComparison.Ordinal);

        var problems = new List<string>();
        if (nd is not null)
        {
            problems.Add(nd.Message);
        }
        else if (outcome is null)
        {
            problems.Add($"The recovered run did not finish within {Options.Timeout.TotalSeconds:0.#} s: it is {run?.Status} ({run?.StatusDetail ?? scenario.Unanswered ?? scenario.Logs.ExecutionFailure?.Message}).");
        }
        else if (!matches && !failedAsDeclared)
        {
            var hint = outcome.Status == reference.Status && reference.Status == RunStatus.Completed ? DeterminismHints.ForDifferentResults(reference.Text, outcome.Text) : "";
            problems.Add($"The recovered run ended {outcome.Status} with {DeterminismHints.Shorten(outcome.Text)}; the reference run ended {reference.Status} with {DeterminismHints.Shorten(reference.Text)}. {hint}".TrimEnd());
        }

        foreach (var duplicate in misreconciled)
        {
            problems.Add($"Effect step {duplicate.Step} '{duplicate.Name}' (key {duplicate.IdempotencyKey}) ran {duplicate.Runs} times: its body had completed before the crash, yet its Reconcile callback answered NotDone, so it ran again. Make Reconcile look the effect up by its idempotency key.");
        }

        foreach (var duplicate in duplicates.Except(misreconciled))
        {
            problems.Add($"Effect step {duplicate.Step} '{duplicate.Name}' (key {duplicate.IdempotencyKey}) ran {duplicate.Runs} times although its outcome was durable before the crash: the effect was applied twice.");
        }

        if (Options.FailOnRepeatedModelSteps)
        {
            problems.AddRange(models.Select(m => $"Model step {m.Step} '{m.Name}' ran {m.Runs} times although its outcome was recorded before the crash."));
        }

        return new CrashPointResult
        {
            Point = point,
            Passed = problems.Count == 0,
            Status = outcome?.Status ?? run?.Status,
            Outcome = outcome?.Text,
            OutcomeMatches = matches,
            DuplicateEffects = duplicates,
            InDoubtReruns = reruns,
            RepeatedModelSteps = models,
            NonDeterminism = nd is null ? null : NonDeterminismInfo.From(nd),
            RecoveryTime = recovery,
            Problem = problems.Count == 0 ? null : string.Join(" ", problems),
            Note = failedAsDeclared ? "the run failed as its in-doubt policy (Fail) declares" : null,
        };
    }

    private static CrashPointResult Failed(CrashPoint point, NonDeterminismException nd) => new()
    {
        Point = point,
        Passed = false,
        Status = RunStatus.Failed,
        NonDeterminism = NonDeterminismInfo.From(nd),
        Problem = nd.Message,
    };

    private CancellationTokenSource Deadline(CancellationToken cancellationToken)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Options.Timeout);
        return deadline;
    }
}
