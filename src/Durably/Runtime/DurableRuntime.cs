using System.Collections.Concurrent;
using System.Diagnostics;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Durably;

/// <summary>Starts runs, executes and replays them, suspends and resumes them, and recovers unfinished runs at start-up.</summary>
/// <remarks>
/// <para>Register workflows, then call <see cref="StartAsync"/>: the runtime claims every unfinished run in the store
/// (leases under <see cref="DurableRuntimeOptions.WorkerId"/>) and resumes it; runs waiting for a signal or a timer stay
/// unloaded until due. While started, it polls the store for runs made runnable by other processes and wakes at the
/// next known timer.</para>
/// <para>A runtime with <see cref="DurableRuntimeOptions.ExecuteRuns"/> off is a client: it starts, signals and reads
/// runs that workers execute. Thread-safe.</para>
/// </remarks>
public sealed partial class DurableRuntime : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, WorkflowDefinition> _workflows = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<RunId, RunExecution?> _active = new();
    private readonly ConcurrentDictionary<RunId, TaskCompletionSource> _finishWaiters = new();
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _poke = new(0);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly object _wakeGate = new();
    private readonly List<RunObserver> _observers = [];
    private readonly List<Task> _executions = [];
    private DateTimeOffset? _nextWake;
    private Task? _loop;
    private long _appendLatencyTicks = TimeSpan.FromMilliseconds(1).Ticks;

    /// <summary>Creates a runtime over <paramref name="store"/>.</summary>
    public DurableRuntime(IJournalStore store, DurableRuntimeOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        Store = store;
        Options = options ?? new DurableRuntimeOptions();
        ArgumentException.ThrowIfNullOrWhiteSpace(Options.WorkerId, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.MaxConcurrentRuns, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Options.LeaseDuration, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Options.PollInterval, TimeSpan.Zero, nameof(options));
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger("Durably.Runtime");
        WorkflowLogger = loggerFactory.CreateLogger("Durably.Workflow");
        StepLogger = loggerFactory.CreateLogger("Durably.Step");
        _slots = new SemaphoreSlim(Options.MaxConcurrentRuns, Options.MaxConcurrentRuns);
    }

    /// <summary>Gets the journal store.</summary>
    public IJournalStore Store { get; }

    /// <summary>Gets the options.</summary>
    public DurableRuntimeOptions Options { get; }

    /// <summary>Gets the names of the registered workflows.</summary>
    public IReadOnlyCollection<string> Workflows => [.. _workflows.Keys];

    internal ILogger WorkflowLogger { get; }

    internal ILogger StepLogger { get; }

    internal TimeSpan AppendLatency => TimeSpan.FromTicks(Interlocked.Read(ref _appendLatencyTicks));

    /// <summary>Adds an observer that is told about runs and steps as they execute.</summary>
    public void AddObserver(RunObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_observers)
        {
            _observers.Add(observer);
        }
    }

    /// <summary>Registers a workflow under <paramref name="name"/>.</summary>
    /// <remarks>The delegate is re-executed from the top on recovery: it must be deterministic apart from what goes through its <see cref="RunContext"/>.</remarks>
    /// <exception cref="ArgumentException">The name is empty or taken.</exception>
    public void Register<TInput, TResult>(string name, Func<RunContext, TInput, Task<TResult>> workflow, WorkflowOptions? options = null)
    {
        JournalText.CheckName(name);
        ArgumentNullException.ThrowIfNull(workflow);
        if (!_workflows.TryAdd(name, WorkflowDefinition.Create(name, options ?? new WorkflowOptions(), workflow)))
        {
            throw new ArgumentException($"A workflow named '{name}' is registered already.", nameof(name));
        }
    }

    /// <summary>Registers a class-form workflow; <paramref name="factory"/> makes a new instance for every execution.</summary>
    public void Register<TInput, TResult>(Func<Workflow<TInput, TResult>> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var prototype = factory();
        Register<TInput, TResult>(prototype.Name, (context, input) => factory().RunAsync(context, input), prototype.Options);
    }

    /// <summary>Recovers unfinished runs and starts executing runs as they become runnable.</summary>
    /// <remarks>Returns after the first claim of unfinished runs; they then execute in the background.</remarks>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (!Options.ExecuteRuns)
        {
            throw new InvalidOperationException("This runtime is a client (ExecuteRuns is off); it does not execute runs.");
        }

        if (_loop is not null)
        {
            throw new InvalidOperationException("The runtime is started already.");
        }

        var recovered = await ClaimAndLaunchAsync(includeOwnLeases: true, cancellationToken).ConfigureAwait(false);
        if (recovered > 0)
        {
            Log.Recovering(_logger, recovered);
        }

        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    /// <summary>Stops executing: in-flight runs are abandoned where they are (their journals say how far they got) and resume on the next start.</summary>
    public async Task StopAsync()
    {
        if (_shutdown.IsCancellationRequested)
        {
            return;
        }

        await _shutdown.CancelAsync().ConfigureAwait(false);
        _poke.Release();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        Task[] executions;
        lock (_executions)
        {
            executions = [.. _executions];
        }

        await Task.WhenAll(executions).ConfigureAwait(false);
    }

    /// <summary>Stops the runtime (see <see cref="StopAsync"/>). The store is not disposed.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _shutdown.Dispose();
    }

    /// <summary>Starts a run of <paramref name="workflow"/>, or returns the existing run when <see cref="StartRunOptions.RunId"/> names one.</summary>
    /// <exception cref="WorkflowNotFoundException">This runtime executes runs and has no workflow of that name.</exception>
    /// <exception cref="InvalidOperationException">The run id exists for another workflow.</exception>
    public async Task<RunHandle> StartRunAsync<TInput>(string workflow, TInput input, StartRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        JournalText.CheckName(workflow);
        _workflows.TryGetValue(workflow, out var definition);
        if (definition is null && Options.ExecuteRuns)
        {
            throw new WorkflowNotFoundException(workflow);
        }

        var runId = options?.RunId ?? RunId.New();
        var started = new RunStarted
        {
            Workflow = workflow,
            WorkflowVersion = definition?.Options.Version ?? 1,
            Input = input is null ? null : Options.Codec.Encode(input),
            Patches = definition is { Options.Patches.Count: > 0 } ? [.. definition.Options.Patches] : null,
            Timestamp = Options.TimeProvider.GetUtcNow(),
        };
        try
        {
            await Store.AppendAsync(new RunAppend(runId, 0, [started]) { Status = RunStatus.Pending }, cancellationToken).ConfigureAwait(false);
        }
        catch (JournalConcurrencyException)
        {
            var existing = await Store.ReadAsync(runId, 0, cancellationToken).ConfigureAwait(false);
            if (existing[0] is RunStarted other && other.Workflow != workflow)
            {
                throw new InvalidOperationException($"Run '{runId}' exists already as a run of workflow '{other.Workflow}', not '{workflow}'.");
            }

            return new RunHandle(this, runId, isNew: false);
        }

        await TryActivateAsync(runId).ConfigureAwait(false);
        return new RunHandle(this, runId, isNew: true);
    }

    /// <summary>Forks a run: a new run whose journal holds the source's steps 1 to <paramref name="atStep"/>, so it re-executes from step <paramref name="atStep"/> + 1.</summary>
    /// <remarks>For "what if" runs with another model or prompt. With <see cref="ForkOptions.ReuseModelOutputs"/> recorded model outputs beyond the fork point are
    /// cache hits; with <see cref="ForkOptions.DryRun"/> effect steps return recorded results or fail loudly, never calling tools.</remarks>
    /// <exception cref="RunNotFoundException">The source run does not exist.</exception>
    /// <exception cref="JournalConcurrencyException">The new run id exists already.</exception>
    public async Task<RunHandle> ForkAsync(RunId source, int atStep, ForkOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(atStep);
        options ??= new ForkOptions();
        var entries = await Store.ReadAsync(source, 0, cancellationToken).ConfigureAwait(false);
        var started = (RunStarted)entries[0];
        var runId = options.NewRunId ?? RunId.New();
        var copied = new List<JournalEntry>
        {
            started with
            {
                Sequence = 0,
                Timestamp = Options.TimeProvider.GetUtcNow(),
                Fork = new ForkInfo(source, atStep) { ReuseModelOutputs = options.ReuseModelOutputs, DryRun = options.DryRun },
            },
        };
        foreach (var entry in entries.Skip(1))
        {
            if (StepOf(entry) is { } step && step <= atStep)
            {
                copied.Add(entry with { Sequence = copied.Count });
            }
        }

        await Store.AppendAsync(new RunAppend(runId, 0, copied) { Status = RunStatus.Pending }, cancellationToken).ConfigureAwait(false);
        await TryActivateAsync(runId).ConfigureAwait(false);
        return new RunHandle(this, runId, isNew: true);
    }

    internal static int? StepOf(JournalEntry entry) => RunHistory.StepOf(entry);

    /// <summary>Returns a handle to an existing run.</summary>
    public RunHandle GetRun(RunId runId) => new(this, runId, isNew: false);

    /// <summary>Waits until the run finishes and returns its result.</summary>
    /// <exception cref="RunFailedException">The run failed, was cancelled or was compensated.</exception>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    /// <remarks>A run executed by this runtime wakes the caller as soon as it finishes; a run executed elsewhere is polled, starting at
    /// <see cref="DurableRuntimeOptions.PollInterval"/> and backing off to 30 times that.</remarks>
    public async Task<TResult> GetResultAsync<TResult>(RunId runId, CancellationToken cancellationToken = default)
    {
        var interval = Options.PollInterval;
        while (true)
        {
            var waiter = _finishWaiters.GetOrAdd(runId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            var run = await Store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false) ?? throw new RunNotFoundException(runId);
            if (run.Status.IsFinished())
            {
                return await ReadResultAsync<TResult>(run, cancellationToken).ConfigureAwait(false);
            }

            // While this runtime executes or will execute the run, its finish wakes the waiter: no need to read the store.
            do
            {
                using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(interval, Options.TimeProvider, poll.Token);
                interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, Options.PollInterval.Ticks * 30));
                await Task.WhenAny(waiter.Task, delay).ConfigureAwait(false);
                await poll.CancelAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
            while (!waiter.Task.IsCompleted && _active.ContainsKey(runId));
        }
    }

    /// <summary>Delivers a signal to a run durably (it is in the store when this returns) and wakes the run.</summary>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    /// <exception cref="RunFinishedException">The run has finished.</exception>
    public async Task<DeliveredSignal> SignalAsync<T>(RunId runId, string name, T value, string? sender = null, CancellationToken cancellationToken = default)
    {
        JournalText.CheckName(name);
        var payload = value is null ? null : Options.Codec.Encode(value);
        var delivered = await Store.DeliverSignalAsync(runId, new SignalMessage(name, payload, sender), cancellationToken).ConfigureAwait(false);
        await TryActivateAsync(runId).ConfigureAwait(false);
        return delivered;
    }

    /// <summary>Approves or rejects at a gate a run waits at (<see cref="RunContext.WaitForApprovalAsync"/>); the approver is journaled with the decision.</summary>
    public Task<DeliveredSignal> ApproveAsync(RunId runId, string gate, bool approved, string approver, string? comment = null, CancellationToken cancellationToken = default)
    {
        JournalText.CheckName(gate);
        ArgumentException.ThrowIfNullOrWhiteSpace(approver);
        return SignalAsync(runId, SignalNames.Approval(gate), new ApprovalPayload(approved, comment), approver, cancellationToken);
    }

    /// <summary>Resolves an effect step left in doubt under <see cref="InDoubtPolicy.AskHuman"/>: done with a result, retry, or abort.</summary>
    public Task<DeliveredSignal> ResolveInDoubtAsync(RunId runId, int step, InDoubtResolution resolution, string resolvedBy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(resolution);
        ArgumentException.ThrowIfNullOrWhiteSpace(resolvedBy);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        var result = resolution.Result is { IsJson: true } json ? System.Text.Json.JsonDocument.Parse(json.Data).RootElement.Clone() : (System.Text.Json.JsonElement?)null;
        return SignalAsync(runId, SignalNames.Resolve(step), new ResolutionPayload(resolution.Action, result), resolvedBy, cancellationToken);
    }

    /// <summary>Cancels a run: it stops at its next durable call, runs its compensations and ends cancelled (or compensated).</summary>
    public async Task CancelAsync(RunId runId, string reason = "cancelled", CancellationToken cancellationToken = default)
    {
        await Store.DeliverSignalAsync(runId, new SignalMessage(SignalNames.Cancel, Options.Codec.Encode(reason)), cancellationToken).ConfigureAwait(false);
        if (_active.TryGetValue(runId, out var execution) && execution is not null)
        {
            execution.Cancel();
        }
        else
        {
            await TryActivateAsync(runId).ConfigureAwait(false);
        }
    }

    internal void Observe(Action<RunObserver> notify)
    {
        RunObserver[] observers;
        lock (_observers)
        {
            if (_observers.Count == 0)
            {
                return;
            }

            observers = [.. _observers];
        }

        foreach (var observer in observers)
        {
            notify(observer);
        }
    }

    internal void RecordAppendLatency(TimeSpan latency)
    {
        // An exponentially weighted average: the Adaptive policy compares step cost with it.
        var current = Interlocked.Read(ref _appendLatencyTicks);
        Interlocked.Exchange(ref _appendLatencyTicks, (long)((current * 0.9) + (latency.Ticks * 0.1)));
    }

    internal void NoteWakeTime(DateTimeOffset? wakeAt)
    {
        if (wakeAt is null)
        {
            return;
        }

        lock (_wakeGate)
        {
            if (_nextWake is null || wakeAt < _nextWake)
            {
                _nextWake = wakeAt;
            }
        }

        _poke.Release();
    }

    // Makes the worker loop look for runnable runs now, for a caller that moved a fake clock past a wake time.
    internal void Wake() => _poke.Release();

    internal void NotifyFinished(RunId runId)
    {
        if (_finishWaiters.TryRemove(runId, out var waiter))
        {
            waiter.TrySetResult();
        }
    }

    internal void LogAbandoned(RunId runId, Exception exception)
    {
        if (exception is LeaseLostException)
        {
            Log.LeaseLost(_logger, runId, exception);
        }
        else
        {
            Log.Abandoned(_logger, runId, exception);
        }
    }

    internal void LogNonDeterminism(RunId runId, Exception exception) => Log.NonDeterminism(_logger, runId, exception);

    internal void LogInDoubt(RunId runId, int step, string name, InDoubtPolicy policy) => Log.InDoubt(_logger, runId, step, name, policy);

    private async Task<TResult> ReadResultAsync<TResult>(RunRecord run, CancellationToken cancellationToken)
    {
        var entries = await Store.ReadAsync(run.RunId, Math.Max(0, run.NextSequence - 1), cancellationToken).ConfigureAwait(false);
        switch (entries.LastOrDefault())
        {
            case RunCompleted completed:
                return completed.Result is null ? default! : Options.Codec.Decode<TResult>(completed.Result);
            case RunFailed failed:
                throw new RunFailedException(run.RunId, run.Status, failed.Error.Unseal(Options.Codec));
            default:
                var detail = run.StatusDetail is null ? null : new ErrorInfo(typeof(DurablyException).FullName!, run.StatusDetail);
                throw new RunFailedException(run.RunId, run.Status, detail);
        }
    }
}
