using System.Collections.Concurrent;
using System.Diagnostics;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Durably;

/// <summary>Is the worker: registers workflows, executes and replays runs, suspends and resumes them, and recovers unfinished runs at start-up.</summary>
/// <remarks>
/// <para>Register workflows, then call <see cref="StartAsync"/>: the runtime claims every unfinished run in the store
/// (leases under <see cref="DurableRuntimeOptions.WorkerId"/>) and resumes it; runs waiting for a signal or a timer stay
/// unloaded until due. While started, it polls the store for runs made runnable by other processes and wakes at the
/// next known timer.</para>
/// <para>Runs are started, signalled and read through a <see cref="DurableClient"/>: this runtime's own (<see cref="Client"/>),
/// or one made over the same store in any process (a web app, the CLI). Thread-safe.</para>
/// </remarks>
public sealed partial class DurableRuntime : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, WorkflowDefinition> _workflows = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, string> _workflowClasses = new();
    private readonly ConcurrentDictionary<RunId, RunExecution?> _active = new();
    private readonly ConcurrentDictionary<RunId, TaskCompletionSource<RunFinish?>> _finishWaiters = new();
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _poke = new(0);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly object _wakeGate = new();
    private readonly Lock _observersGate = new();
    private RunObserver[] _observers = [];
    private readonly List<Task> _executions = [];
    private DateTimeOffset? _nextWake;
    private Task? _loop;
    private PollOutcome? _lastPoll;
    private int _stopped;
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
        Client = new DurableClient(store, new DurableClientOptions { Codec = Options.Codec, TimeProvider = Options.TimeProvider, PollInterval = Options.PollInterval }, this);
    }

    /// <summary>Gets the journal store.</summary>
    public IJournalStore Store { get; }

    /// <summary>Gets the options.</summary>
    public DurableRuntimeOptions Options { get; }

    /// <summary>Gets the client of this runtime: start, signal, approve, resolve, cancel and fork runs with it, and await their results.</summary>
    /// <remarks>Unlike a <see cref="DurableClient"/> made over the same store, it knows the registered workflows (a start by name is checked,
    /// and records the workflow's version and patches) and wakes this runtime at once: a run it starts or signals executes now,
    /// a cancelled run in flight stops at its next durable call, and a result is returned as soon as the run finishes here.</remarks>
    public DurableClient Client { get; }

    /// <summary>Gets the names of the registered workflows.</summary>
    public IReadOnlyCollection<string> Workflows => [.. _workflows.Keys];

    internal ILogger WorkflowLogger { get; }

    internal ILogger StepLogger { get; }

    internal TimeSpan AppendLatency => TimeSpan.FromTicks(Interlocked.Read(ref _appendLatencyTicks));

    /// <summary>Adds an observer that is told about runs and steps as they execute.</summary>
    public void AddObserver(RunObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_observersGate)
        {
            // Copy on write: telling observers (once per step) reads the array without a lock or a copy.
            _observers = [.. _observers, observer];
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
        _workflowClasses.TryAdd(prototype.GetType(), prototype.Name);
    }

    /// <summary>Recovers unfinished runs and starts executing runs as they become runnable.</summary>
    /// <remarks>Returns after the first claim of unfinished runs; they then execute in the background. That claim takes runs that
    /// are not leased, runs leased under this runtime's <see cref="DurableRuntimeOptions.WorkerId"/>, and runs whose leases have
    /// expired or (on a store that can tell, such as SQLite) are held by a worker whose process has died.</remarks>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("The runtime is started already.");
        }

        CheckSchedulesSupported();
        CheckQueuesSupported();
        await SaveQueuesAsync(cancellationToken).ConfigureAwait(false);
        var recovered = await ClaimAndLaunchAsync(includeOwnLeases: true, cancellationToken).ConfigureAwait(false);
        RecordPoll(null);
        if (recovered > 0)
        {
            Log.Recovering(_logger, recovered);
        }

        _loop = Task.Run(LoopAsync, CancellationToken.None);
        await StartSchedulesAsync(cancellationToken).ConfigureAwait(false);
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

        await StopSchedulesAsync().ConfigureAwait(false);

        Task[] executions;
        lock (_executions)
        {
            executions = [.. _executions];
        }

        await Task.WhenAll(executions).ConfigureAwait(false);
        Volatile.Write(ref _stopped, 1);
    }

    /// <summary>Describes what this runtime is doing now: started or not, when it last polled the store and how that went, and how many runs execute here.</summary>
    /// <remarks>Cheap and thread-safe; a health check calls it (<c>AddDurably().AddHealthChecks()</c> in Durably.Hosting).</remarks>
    public DurableRuntimeStatus GetStatus()
    {
        var state = _loop switch
        {
            null => DurableRuntimeState.NotStarted,
            _ when Volatile.Read(ref _stopped) != 0 => DurableRuntimeState.Stopped,
            _ when _shutdown.IsCancellationRequested => DurableRuntimeState.Stopping,
            { IsCompleted: true } => DurableRuntimeState.Faulted,
            _ => DurableRuntimeState.Running,
        };
        var poll = Volatile.Read(ref _lastPoll);
        return new DurableRuntimeStatus
        {
            WorkerId = Options.WorkerId,
            State = state,
            ActiveRuns = _active.Count,
            LastPollAt = poll?.SucceededAt,
            LastPollError = poll?.Error,
        };
    }

    // The last poll's outcome: when a poll last succeeded, and the error of the last one if it failed.
    private void RecordPoll(Exception? error)
    {
        var succeededAt = error is null ? Options.TimeProvider.GetUtcNow() : Volatile.Read(ref _lastPoll)?.SucceededAt;
        Volatile.Write(ref _lastPoll, new PollOutcome(succeededAt, error));
    }

    private sealed record PollOutcome(DateTimeOffset? SucceededAt, Exception? Error);

    /// <summary>Stops the runtime (see <see cref="StopAsync"/>). The store is not disposed.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _shutdown.Dispose();
    }

    internal WorkflowDefinition? FindWorkflow(string name) => _workflows.GetValueOrDefault(name);

    internal WorkflowDefinition? FindWorkflow(Type workflowClass)
        => _workflowClasses.TryGetValue(workflowClass, out var name) ? FindWorkflow(name) : null;

    // Completes when this runtime finishes executing the run (its client's GetResultAsync waits on it instead of polling).
    // Its value is how the run ended when this runtime saw it end, so the client need not read it back from the store.
    internal Task<RunFinish?> WhenFinished(RunId runId) => _finishWaiters.GetOrAdd(runId, _ => new TaskCompletionSource<RunFinish?>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    internal bool IsExecuting(RunId runId) => _active.ContainsKey(runId);

    // Tells a run this runtime executes now that it is cancelled; false when it does not execute it.
    internal bool TryCancelExecuting(RunId runId)
    {
        if (_active.TryGetValue(runId, out var execution) && execution is not null)
        {
            execution.Cancel();
            return true;
        }

        return false;
    }

    internal void Observe(Action<RunObserver> notify)
    {
        foreach (var observer in Volatile.Read(ref _observers))
        {
            notify(observer);
        }
    }

    // For the per-step notifications: a static lambda and its state, so a runtime without observers allocates nothing.
    internal void Observe<TState>(Action<RunObserver, TState> notify, TState state)
    {
        foreach (var observer in Volatile.Read(ref _observers))
        {
            notify(observer, state);
        }
    }

    internal void RecordAppendLatency(TimeSpan latency)
    {
        DurablyTelemetry.RecordCommit(latency);

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

    internal void NotifyFinished(RunId runId, RunFinish? finish)
    {
        if (_finishWaiters.TryRemove(runId, out var waiter))
        {
            waiter.TrySetResult(finish);
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
}
