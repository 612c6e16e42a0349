using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Durably.Testing;

// One run of a workflow on a fresh in-memory store and a fake clock, through as many runtimes as a crash needs.
// It answers waits as they come up: it advances the clock to due timers, delivers signals and approvals, and
// resolves in-doubt steps a person would be asked about.
internal sealed class Scenario : IAsyncDisposable
{
    // Fixed, so that ctx.UtcNow gives the same values in every scenario.
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly Action<DurableRuntime> _register;
    private readonly ScenarioOptions _options;
    private readonly HashSet<int> _answered = [];
    private readonly List<DurableRuntime> _runtimes = [];

    public Scenario(Action<DurableRuntime> register, ScenarioOptions options, DateTimeOffset? start = null)
    {
        _register = register;
        _options = options;
        Clock = new FakeTimeProvider(start ?? Start);
        Store = new ScenarioStore(Clock);
    }

    public FakeTimeProvider Clock { get; }

    public ScenarioStore Store { get; }

    public StepLedger Ledger { get; } = new();

    public CapturingLoggerFactory Logs { get; } = new();

    // Set when a wait could not be answered, to explain a time-out.
    public string? Unanswered { get; private set; }

    public async Task<DurableRuntime> StartRuntimeAsync(string workerId)
    {
        var runtime = new DurableRuntime(Store, new DurableRuntimeOptions
        {
            WorkerId = workerId,
            TimeProvider = Clock,

            // On the fake clock: any advance to a due timer wakes the worker loop at once.
            PollInterval = TimeSpan.FromMilliseconds(1),
            Codec = _options.Codec,
            Checkpoint = _options.Checkpoint,
            DefaultRetry = _options.DefaultRetry,
        }, Logs);
        _register(runtime);
        runtime.AddObserver(Ledger);
        _runtimes.Add(runtime);
        await runtime.StartAsync().ConfigureAwait(false);
        return runtime;
    }

    // Drives the run until it finishes, it is suspended with nothing more to answer, or stop() says so.
    public async Task<RunRecord?> DriveAsync(DurableRuntime runtime, RunId runId, Func<RunRecord?, bool> stop, CancellationToken timeout)
    {
        while (true)
        {
            var run = await Store.GetRunAsync(runId, CancellationToken.None).ConfigureAwait(false);
            if (stop(run) || run?.Status.IsFinished() == true)
            {
                return run;
            }

            if (run is { Status: RunStatus.Suspended, LeaseOwner: null })
            {
                await AnswerAsync(runtime, run).ConfigureAwait(false);
            }

            if (timeout.IsCancellationRequested)
            {
                return run;
            }

            try
            {
                await Store.WaitForChangeAsync(timeout).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    // Answers what the suspended run waits for: a signal, an approval, a person for an in-doubt step; failing
    // that, moves the clock to its wake time (a timer, a retry backoff, a wait's timeout).
    private async Task AnswerAsync(DurableRuntime runtime, RunRecord run)
    {
        if (!await AnswerWaitsAsync(runtime, run).ConfigureAwait(false) && run.WakeAt is { } wake && wake > Clock.GetUtcNow())
        {
            Clock.SetUtcNow(wake);
        }

        // The worker loop waits on the fake clock, which moves only here: tell it the run may be due.
        Store.WakeWorkers();
    }

    private async Task<bool> AnswerWaitsAsync(DurableRuntime runtime, RunRecord run)
    {
        var answered = false;
        var journal = await Store.ReadAsync(run.RunId, 0, CancellationToken.None).ConfigureAwait(false);
        foreach (var step in RunHistory.FromJournal(journal).Steps.Where(s => s.Intent is not null && !_answered.Contains(s.Step)).OrderBy(s => s.Intents[0].Sequence))
        {
            var intent = step.Intent!;
            if (intent.Kind == StepKind.Signal && step is { Signal: null, Completion: null, Failures.Count: 0 })
            {
                var gate = intent.Name.StartsWith("approval:", StringComparison.Ordinal) ? intent.Name["approval:".Length..] : null;
                var wait = new SignalWait(run.RunId, intent.Step, intent.Name, gate);
                var reply = _options.Signals is { } answer ? answer(wait) : gate is null ? null : SignalReply.Approve();
                if (reply is null)
                {
                    Unanswered = $"step {intent.Step} waits for the signal '{intent.Name}' and CrashTestOptions.Signals gives no answer to it";
                    continue;
                }

                _answered.Add(intent.Step);
                await reply.DeliverAsync(runtime, wait).ConfigureAwait(false);
                answered = true;
            }
            else if (intent is { Kind: StepKind.Effect, InDoubt: InDoubtPolicy.AskHuman } && run.StatusDetail?.Contains($"in-doubt: step {intent.Step} ", StringComparison.Ordinal) == true)
            {
                var resolution = _options.ResolveInDoubt?.Invoke(new InDoubtRequest(run.RunId, intent.Step, intent.Name)) ?? InDoubtResolution.Retry;
                _answered.Add(intent.Step);
                await runtime.Client.ResolveInDoubtAsync(new ResolveRequest(run.RunId, intent.Step, resolution, "crash-tester")).ConfigureAwait(false);
                answered = true;
            }
        }

        return answered;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var runtime in _runtimes)
        {
            await runtime.DisposeAsync().ConfigureAwait(false);
        }

        await Store.DisposeAsync().ConfigureAwait(false);
    }
}

// What a scenario needs from the tester's or replayer's options.
internal sealed record ScenarioOptions(Codecs.IPayloadCodec Codec, CheckpointPolicy Checkpoint, RetryPolicy DefaultRetry, Func<SignalWait, SignalReply?>? Signals, Func<InDoubtRequest, InDoubtResolution>? ResolveInDoubt);
