using System.Diagnostics;
using System.Security.Cryptography;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Durably.Codecs;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.Logging;

namespace Durably;

// One activation of a run: loads the journal, re-executes the workflow from the top (replaying what is
// journaled, executing the rest), and ends by completing, failing, or suspending the run.
internal sealed partial class RunExecution
{
    private readonly DurableRuntime _runtime;
    private readonly IJournalStore _store;
    private readonly Dictionary<int, StepRecord> _history = [];
    private readonly HashSet<long> _consumedSignals = [];
    private readonly object _appendGate = new();
    private readonly object _stateGate = new();
    private readonly List<(string Name, int Step, Func<StepContext, Task> Action)> _compensations = [];
    private readonly CancellationTokenSource _runCancellation;
    private readonly CancellationToken _shutdown;
    private IReadOnlyList<DeliveredSignal> _inbox = [];
    private long _inboxCursor;
    private Task _lastAppend = Task.CompletedTask;
    private long _nextSequence;
    private int _nextStep;
    private int _maxHistoryStep;
    private int _guidCounter;
    private Exception? _fault;
    private NonDeterminismException? _nonDeterminism;
    private bool _suspended;
    private DateTimeOffset? _wakeAt;
    private string? _suspendDetail;
    private Random? _random;
    private volatile bool _compensating;
    private volatile bool _aborted;
    private bool _markedRunning;
    private bool _resumed;
    private int _replayedSteps;

    public RunExecution(DurableRuntime runtime, RunLease lease, CancellationToken shutdown)
    {
        _runtime = runtime;
        _store = runtime.Store;
        Lease = lease;
        _shutdown = shutdown;
        _runCancellation = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        ReplaySafeLogger = new ReplaySafeLogger(runtime.WorkflowLogger, this);
    }

    public RunId RunId => Lease.RunId;

    public RunLease Lease { get; set; }

    public WorkflowDefinition Definition { get; set; } = null!;

    public bool LeaseLost { get; set; }

    public RunStarted Started { get; private set; } = null!;

    public bool IsReplaying => Volatile.Read(ref _nextStep) < _maxHistoryStep;

    public CancellationToken RunCancellation => _runCancellation.Token;

    public ILogger ReplaySafeLogger { get; }

    public Random Random => _random ??= new Random(StableSeed(RunId.Value));

    private IPayloadCodec Codec => _runtime.Options.Codec;

    private TimeProvider Time => _runtime.Options.TimeProvider;

    // Stops the activation without recording anything (the lease was lost).
    public void Abort()
    {
        _aborted = true;
        _runCancellation.Cancel();
    }

    public Guid NextGuid()
    {
        var counter = Interlocked.Increment(ref _guidCounter);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{RunId.Value}/guid/{counter}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5 (name-based)
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    // Loads the journal into the history and returns false if the run has nothing left to do.
    public async Task<bool> LoadAsync(CancellationToken cancellationToken)
    {
        var entries = await _store.ReadAsync(RunId, 0, cancellationToken).ConfigureAwait(false);
        _nextSequence = entries.Count;
        _resumed = entries.Count > 1;
        Started = (RunStarted)entries[0];
        foreach (var entry in entries)
        {
            switch (entry)
            {
                case RunCompleted or RunFailed or RunCancelled:
                    return false;
                case StepStarted started:
                    Record(started.Step).Apply(started);
                    break;
                case StepCompleted completed:
                    Record(completed.Step).Completed = completed;
                    break;
                case StepFailed failed:
                    Record(failed.Step).LastFailure = failed;
                    break;
                case SignalReceived signal:
                    Record(signal.Step).Signal = signal;
                    if (signal.SignalId is { } id)
                    {
                        _consumedSignals.Add(id);
                    }

                    break;
                case TimerStarted timer:
                    Record(timer.Step).Timer = timer;
                    break;
                case TimerFired fired:
                    Record(fired.Step).Fired = fired;
                    break;
            }
        }

        if (Started.Fork is { } fork && (fork.ReuseModelOutputs || fork.DryRun))
        {
            await LoadForkSourceAsync(fork, cancellationToken).ConfigureAwait(false);
        }

        _inbox = await _store.ReadSignalsAsync(RunId, 0, cancellationToken).ConfigureAwait(false);
        _inboxCursor = _inbox.Count == 0 ? 0 : _inbox[^1].SignalId;
        if (_inbox.Any(s => s.Name == SignalNames.Cancel))
        {
            _runCancellation.Cancel();
        }

        return true;

        StepRecord Record(int step)
        {
            if (!_history.TryGetValue(step, out var record))
            {
                record = new StepRecord();
                _history[step] = record;
                _maxHistoryStep = Math.Max(_maxHistoryStep, step);
            }

            return record;
        }
    }

    // Checks that the step the code asks for is the one journaled at this position.
    private StepRecord? Match(int step, StepKind kind, string name, string? argumentHash = null)
    {
        if (!_history.TryGetValue(step, out var record) || record.Kind is null)
        {
            return null;
        }

        if (record.Kind == StepKind.Compensation && kind != StepKind.Compensation && _runCancellation.IsCancellationRequested)
        {
            // The run was cancelled at this point before: the journal continues with its compensations.
            throw new OperationCanceledException(_runCancellation.Token);
        }

        if (record.Kind != kind || record.Name != name)
        {
            throw NonDeterminism(step, $"{Describe(record.Kind.Value)} '{record.Name}'", $"{Describe(kind)} '{name}'");
        }

        if (argumentHash is not null && record.ArgumentHash is not null && argumentHash != record.ArgumentHash)
        {
            throw NonDeterminism(step, $"{Describe(kind)} '{name}' with argument hash {record.ArgumentHash}", $"the same step with argument hash {argumentHash}");
        }

        return record;
    }

    private NonDeterminismException NonDeterminism(int step, string journaled, string requested)
    {
        var ex = new NonDeterminismException(RunId, step, journaled, requested);
        Interlocked.CompareExchange(ref _nonDeterminism, ex, null);
        return ex;
    }

    private static string Describe(StepKind kind) => kind.ToString().ToLowerInvariant() + " step";

    // Appends entries (sequence and timestamp filled in) after everything this run appended before.
    private Task AppendAsync(IReadOnlyList<JournalEntry> entries, RunStatus? status = null, DateTimeOffset? wakeAt = null, string? detail = null)
    {
        lock (_appendGate)
        {
            if (_fault is not null)
            {
                return Task.FromException(_fault);
            }

            var now = Time.GetUtcNow();
            if (!_markedRunning && _resumed && (entries.Count > 0 || status == RunStatus.Suspended))
            {
                // Record the resumption with the activation's first write: no extra sync, and it tells timelines
                // how often each step was replayed.
                entries = [new RunResumed { ReplayedSteps = Volatile.Read(ref _replayedSteps), Worker = Lease.Owner, LeaseEpoch = Lease.Epoch }, .. entries];
            }

            var stamped = new JournalEntry[entries.Count];
            for (var i = 0; i < stamped.Length; i++)
            {
                stamped[i] = entries[i] with { Sequence = _nextSequence + i, Timestamp = now };
            }

            if (!_markedRunning && status is null)
            {
                // The first write of an activation marks the run running again (clearing a suspension's wake time).
                status = RunStatus.Running;
            }

            _markedRunning = true;
            var append = new RunAppend(RunId, _nextSequence, stamped) { Status = status, WakeAt = wakeAt, StatusDetail = detail, LeaseEpoch = Lease.Epoch };
            _nextSequence += stamped.Length;
            var started = Stopwatch.GetTimestamp();
            Task task;
            try
            {
                task = _store.AppendAsync(append).AsTask();
            }
            catch (Exception ex)
            {
                task = Task.FromException(ex);
            }

            // Runs on the completing thread: no extra hop on the hot path.
            _ = task.ContinueWith(
                t => Observe(t, Stopwatch.GetElapsedTime(started)),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            _lastAppend = task;
            return task;
        }
    }

    private void Observe(Task append, TimeSpan latency)
    {
        if (append.Exception?.InnerException is { } ex)
        {
            // Later appends of this run would fail on the sequence check; keep the first cause.
            lock (_appendGate)
            {
                _fault ??= ex;
            }
        }
        else
        {
            _runtime.RecordAppendLatency(latency);
        }
    }

    // Cancellation is checked only where a call would run live: replayed calls still replay, so that the
    // compensations they registered are known when the run unwinds.
    private void ThrowIfCancelled()
    {
        if (!_compensating)
        {
            _runCancellation.Token.ThrowIfCancellationRequested();
        }
    }

    private void ThrowIfStopped()
    {
        if (_fault is { } fault)
        {
            throw new JournalStoreException($"Run '{RunId}' cannot continue: an earlier journal write failed ({fault.Message}).", fault);
        }

        if (_nonDeterminism is { } nd)
        {
            throw nd;
        }

        if (Volatile.Read(ref _suspended))
        {
            throw new RunSuspendedException();
        }
    }

    // Marks the run for unloading and unwinds the caller.
    private RunSuspendedException Suspend(DateTimeOffset? wakeAt, string detail)
    {
        lock (_stateGate)
        {
            _suspended = true;
            if (wakeAt is { } at && (_wakeAt is null || at < _wakeAt))
            {
                _wakeAt = at;
            }

            _suspendDetail = _suspendDetail is null ? detail : _suspendDetail + "; " + detail;
        }

        return new RunSuspendedException();
    }

    private StepContext NewStepContext(int step, string name, int attempt)
        => new(RunId, step, name, attempt, Lease.Epoch, _runtime.StepLogger, _compensating ? _shutdown : _runCancellation.Token);

    private static int StableSeed(string text)
    {
        // FNV-1a: string.GetHashCode is randomized per process, and the seed must be the same on replay.
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)hash;
    }

    // The source run's completed steps beyond the fork point: cache hits for model steps, recorded results for dry-run effects.
    private Dictionary<int, (StepKind Kind, string Name, StepCompleted Outcome)>? _forkSource;

    private async Task LoadForkSourceAsync(ForkInfo fork, CancellationToken cancellationToken)
    {
        IReadOnlyList<JournalEntry> source;
        try
        {
            source = await _store.ReadAsync(fork.Source, 0, cancellationToken).ConfigureAwait(false);
        }
        catch (RunNotFoundException)
        {
            // The source was purged: nothing to reuse; dry-run effects then fail loudly.
            source = [];
        }

        var intents = new Dictionary<int, StepStarted>();
        _forkSource = [];
        foreach (var entry in source)
        {
            if (entry is StepStarted started && started.Step > fork.AtStep)
            {
                intents[started.Step] = started;
            }
            else if (entry is StepCompleted completed && intents.TryGetValue(completed.Step, out var intent))
            {
                _forkSource[completed.Step] = (intent.Kind, intent.Name, completed);
            }
        }
    }

    // Returns the source's recorded outcome for a live step of a fork, when the fork's options say to use it.
    private StepCompleted? ForkedOutcome(int step, StepKind kind, string name)
    {
        var fork = Started.Fork;
        if (fork is null || _forkSource is null || (kind == StepKind.Model ? !fork.ReuseModelOutputs : kind != StepKind.Effect || !fork.DryRun))
        {
            return null;
        }

        if (_forkSource.TryGetValue(step, out var recorded) && recorded.Kind == kind && recorded.Name == name)
        {
            return recorded.Outcome;
        }

        return kind == StepKind.Effect ? throw new DryRunViolationException(fork.Source, step, name) : null;
    }

    internal void CountReplayed() => Interlocked.Increment(ref _replayedSteps);

    internal static string HashArguments(IPayloadCodec codec, object arguments)
    {
        // The hash is of the JSON, not of the codec's output: an encrypting codec's output differs on every call,
        // and switching a codec on must not make journals written before it look non-deterministic.
        var payload = codec.Encode(arguments);
        var json = payload.IsJson ? payload.Data.Span : JsonMarshal.GetRawUtf8Value(codec.Decode<JsonElement>(payload));
        return Convert.ToHexStringLower(SHA256.HashData(json))[..16];
    }

    private ErrorInfo SealError(Exception exception) => ErrorInfo.FromException(exception).Seal(Codec);

    private ErrorInfo SealError(ErrorInfo error) => error.Seal(Codec);

    private ErrorInfo UnsealError(ErrorInfo error) => error.Unseal(Codec);

    // What the journal holds for one step number.
    private sealed class StepRecord
    {
        public StepKind? Kind { get; private set; }

        public string? Name { get; private set; }

        public string? ArgumentHash { get; private set; }

        public StepStarted? Intent { get; private set; }

        public StepCompleted? Completed { get; set; }

        public StepFailed? LastFailure { get; set; }

        public SignalReceived? Signal { get; set; }

        public TimerStarted? Timer { get; set; }

        public TimerFired? Fired { get; set; }

        public int Attempts => Math.Max(Intent?.Attempt ?? 0, LastFailure?.Attempt ?? 0);

        public bool FailedForGood => Completed is null && LastFailure is { RetryAt: null } failure && failure.Attempt >= (Intent?.Attempt ?? 0);

        // An effect whose latest attempt has an intent and no outcome.
        public bool InDoubt => Completed is null && Intent is { } intent && (LastFailure is null || LastFailure.Attempt < intent.Attempt);

        public void Apply(StepStarted started)
        {
            Kind = started.Kind;
            Name = started.Name;
            ArgumentHash = started.ArgumentHash ?? ArgumentHash;
            Intent = started;
        }
    }
}
