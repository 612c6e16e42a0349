using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;

namespace Durably;

/// <summary>Starts, reads and controls runs through a journal store: what a web app, an approval service, the CLI or the dashboard needs.</summary>
/// <remarks>
/// <para>A client executes no run: a worker (<see cref="DurableRuntime"/>) that registers the workflow does, in this process or another
/// one that shares the store. Every control verb returns once its change is durable in the store; a worker picks it up at once
/// when it is this client's own (<see cref="DurableRuntime.Client"/>), otherwise when it next polls or is woken by the store.</para>
/// <para>Control verbs take one request record each, so fields can be added without breaking callers. The client owns nothing:
/// the store is not disposed with it. Thread-safe.</para>
/// </remarks>
public sealed class DurableClient
{
    private readonly DurableRuntime? _worker;
    private Scheduling.ScheduleClient? _schedules;

    /// <summary>Creates a client over <paramref name="store"/>.</summary>
    /// <param name="store">The store the workers use.</param>
    /// <param name="options">The codec (it must match the workers'), the clock and the result polling interval; defaults otherwise.</param>
    public DurableClient(IJournalStore store, DurableClientOptions? options = null)
        : this(store, options ?? new DurableClientOptions(), worker: null)
    {
    }

    // The client of a worker in this process: it knows the registered workflows and wakes the worker when it changes a run.
    internal DurableClient(IJournalStore store, DurableClientOptions options, DurableRuntime? worker)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Codec, nameof(options));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.PollInterval, TimeSpan.Zero, nameof(options));
        Store = store;
        Options = options;
        _worker = worker;
    }

    /// <summary>Gets the journal store.</summary>
    public IJournalStore Store { get; }

    /// <summary>Gets the options.</summary>
    public DurableClientOptions Options { get; }

    /// <summary>Gets the schedules of the store: create, list, pause, resume, trigger and delete them.</summary>
    /// <remarks>Needs a store that implements <see cref="IScheduleStore"/>; its verbs throw <see cref="NotSupportedException"/> otherwise.</remarks>
    public Scheduling.ScheduleClient Schedules => _schedules ??= new Scheduling.ScheduleClient(this);

    /// <summary>Starts a run of <paramref name="workflow"/>, or returns the existing run when <see cref="StartRunOptions.RunId"/> names one.</summary>
    /// <param name="workflow">The workflow's registered name.</param>
    /// <param name="input">The run's input, encoded with the client's codec.</param>
    /// <param name="options">The run id; a new one by default.</param>
    /// <param name="cancellationToken">Cancels the start (the run may be durable already).</param>
    /// <returns>A handle to the run; <see cref="RunHandle.IsNew"/> says whether this call started it.</returns>
    /// <remarks>The run records the workflow's version and patches (<see cref="WorkflowOptions"/>) when this client knows its code: the
    /// client of a runtime that registers it, or the typed overload. A standalone client starting by name records version 1 and no patches.</remarks>
    /// <exception cref="WorkflowNotFoundException">This is a runtime's client, and the runtime registers no workflow of that name.</exception>
    /// <exception cref="InvalidOperationException">The run id exists for another workflow.</exception>
    public Task<RunHandle> StartAsync<TInput>(string workflow, TInput input, StartRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        JournalText.CheckName(workflow);
        WorkflowOptions? known = null;
        if (_worker is not null)
        {
            known = (_worker.FindWorkflow(workflow) ?? throw new WorkflowNotFoundException(workflow)).Options;
        }

        return StartCoreAsync(workflow, known, input, options, cancellationToken);
    }

    /// <summary>Starts a run of the class-form workflow <typeparamref name="TWorkflow"/>, or returns the existing run when <see cref="StartRunOptions.RunId"/> names one.</summary>
    /// <typeparam name="TWorkflow">The workflow class; its <see cref="Workflow{TInput, TResult}.Name"/> names the run's workflow.</typeparam>
    /// <typeparam name="TInput">The run's input.</typeparam>
    /// <typeparam name="TResult">The run's result.</typeparam>
    /// <param name="input">The run's input, encoded with the client's codec.</param>
    /// <param name="options">The run id; a new one by default.</param>
    /// <param name="cancellationToken">Cancels the start (the run may be durable already).</param>
    /// <returns>A typed handle: <see cref="RunHandle{TResult}.GetResultAsync(CancellationToken)"/> needs no type argument.</returns>
    /// <remarks>The workflow's name, version and patches come from the runtime that registered the class when this is its client,
    /// otherwise from an instance made with the class's public parameterless constructor. A class with neither (its constructor
    /// takes services) is started by name with <see cref="StartAsync{TInput}(string, TInput, StartRunOptions?, CancellationToken)"/>.</remarks>
    /// <exception cref="InvalidOperationException">The client cannot tell the workflow's name, or the run id exists for another workflow.</exception>
    public async Task<RunHandle<TResult>> StartAsync<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TWorkflow, TInput, TResult>(
        TInput input, StartRunOptions? options = null, CancellationToken cancellationToken = default)
        where TWorkflow : Workflow<TInput, TResult>
    {
        var (name, known) = Describe<TWorkflow, TInput, TResult>();
        var handle = await StartCoreAsync(name, known, input, options, cancellationToken).ConfigureAwait(false);
        return new RunHandle<TResult>(this, handle.RunId, handle.IsNew);
    }

    /// <summary>Returns a handle to an existing run; nothing is read until the handle is used.</summary>
    public RunHandle GetRun(RunId runId) => new(this, runId, isNew: false);

    /// <summary>Reads a run's status and index record from the store.</summary>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    public async Task<RunRecord> GetStatusAsync(RunId runId, CancellationToken cancellationToken = default)
        => await Store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false) ?? throw new RunNotFoundException(runId);

    /// <summary>Reads a run's timeline: its steps with their states, waits, signals, tokens, and its result or error.</summary>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    public Task<RunTimeline> GetTimelineAsync(RunId runId, CancellationToken cancellationToken = default)
        => RunTimeline.LoadAsync(Store, runId, cancellationToken);

    /// <summary>Lists runs from the store's index, newest first, one page at a time.</summary>
    public Task<RunPage> ListRunsAsync(RunQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Store.ListRunsAsync(query, cancellationToken);
    }

    /// <summary>Lists the approval gates that suspended runs wait at, newest run first.</summary>
    public Task<IReadOnlyList<PendingApproval>> ListPendingApprovalsAsync(PendingApprovalQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new PendingApprovalQuery();
        return PendingApproval.ListAsync(Store, query.Workflow, query.MaxCount, cancellationToken);
    }

    /// <summary>Writes a run's whole journal to <paramref name="output"/> as JSON lines (see <see cref="JournalExport"/>).</summary>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    public Task ExportJournalAsync(RunId runId, Stream output, CancellationToken cancellationToken = default)
        => JournalExport.ExportAsync(Store, runId, output, cancellationToken);

    /// <summary>Streams a run's events as they are journaled, from the one after <paramref name="fromCursor"/>, and ends after the run's last event.</summary>
    /// <param name="runId">The run to watch.</param>
    /// <param name="fromCursor">The <see cref="RunEvent.Cursor"/> of the last event the caller has; <see langword="null"/> to watch from the run's start.</param>
    /// <param name="cancellationToken">Ends the watch.</param>
    /// <returns>The events: one per journal entry, in journal order, ending with <see cref="RunEventKind.RunCompleted"/>,
    /// <see cref="RunEventKind.RunFailed"/> or <see cref="RunEventKind.RunCancelled"/>.</returns>
    /// <remarks>
    /// <para>The journal is the source: a watcher that reconnects with the cursor of the last event it received gets exactly the
    /// events after it, none twice and none missed, from any process that shares the store. The watcher need not be the worker.</para>
    /// <para>Streaming model steps (<c>Durably.AI</c>) and steps that call <see cref="StepContext.ReportProgress"/> add
    /// <see cref="RunEventKind.StepProgress"/> events while they run. Steps other than tool calls journal their start with their
    /// outcome (or with their first progress), so their started and completed events arrive together.</para>
    /// <para>New entries of a run that this client's runtime executes are reported as soon as they are durable. For a run executed
    /// elsewhere the client polls the run's index record every <see cref="DurableClientOptions.WatchPollInterval"/>, backing off to ten
    /// times that while the run is quiet. Watching a finished run returns its remaining events and ends at once. A run that a replay
    /// divergence stopped has no end entry: its last event is a <see cref="RunEventKind.RunFailed"/> made from its index record.</para>
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="fromCursor"/> is not a cursor of this run (thrown by the call for a malformed one, by the enumeration for one past the run's journal).</exception>
    /// <exception cref="RunNotFoundException">The run does not exist, or was purged while watched.</exception>
    public IAsyncEnumerable<RunEvent> WatchAsync(RunId runId, string? fromCursor = null, CancellationToken cancellationToken = default)
    {
        _ = runId.Value;
        var after = RunWatch.ParseCursor(fromCursor);
        return RunWatch.WatchAsync(this, _worker, runId, after, cancellationToken);
    }

    /// <summary>Waits until the run finishes and returns its result.</summary>
    /// <exception cref="RunFailedException">The run failed, was cancelled or was compensated.</exception>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    /// <remarks>A run executed by this client's runtime wakes the caller as soon as it finishes; a run executed elsewhere is polled,
    /// starting at <see cref="DurableClientOptions.PollInterval"/> and backing off to 30 times that.</remarks>
    public async Task<TResult> GetResultAsync<TResult>(RunId runId, CancellationToken cancellationToken = default)
    {
        var interval = Options.PollInterval;
        while (true)
        {
            var finished = _worker?.WhenFinished(runId);
            var run = await GetStatusAsync(runId, cancellationToken).ConfigureAwait(false);
            if (run.Status.IsFinished())
            {
                return await ReadResultAsync<TResult>(run, cancellationToken).ConfigureAwait(false);
            }

            // While this client's runtime executes or will execute the run, its finish wakes the waiter: no need to read the store.
            do
            {
                using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(interval, Options.TimeProvider, poll.Token);
                interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, Options.PollInterval.Ticks * 30));
                await Task.WhenAny(finished ?? delay, delay).ConfigureAwait(false);
                await poll.CancelAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
            while (finished is { IsCompleted: false } && _worker!.IsExecuting(runId));

            // The runtime here finished it and says how: a completed run's result needs no read of the store.
            if (finished is { IsCompletedSuccessfully: true, Result: { Status: RunStatus.Completed } done })
            {
                return done.Result is null ? default! : Options.Codec.Decode<TResult>(done.Result);
            }
        }
    }

    /// <summary>Delivers a signal to a run durably (it is in the store when this returns) and wakes the run.</summary>
    /// <exception cref="ArgumentException">The name is empty or reserved (starts with <c>$</c> or <c>approval:</c>: use <see cref="ApproveAsync(ApprovalRequest, CancellationToken)"/>,
    /// <see cref="CancelAsync(CancelRequest, CancellationToken)"/> or <see cref="ResolveInDoubtAsync(ResolveRequest, CancellationToken)"/> for those).</exception>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    /// <exception cref="RunFinishedException">The run has finished.</exception>
    public Task<DeliveredSignal> SignalAsync(SignalRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        SignalNames.CheckUserName(request.Name, nameof(request));
        var payload = request.Payload switch
        {
            null => null,
            Payload encoded => encoded,
            var value => Options.Codec.Encode(value),
        };
        return DeliverAsync(request.RunId, new SignalMessage(request.Name, payload, request.Sender), cancellationToken);
    }

    /// <inheritdoc cref="SignalAsync(SignalRequest, CancellationToken)"/>
    /// <param name="runId">The run to signal.</param>
    /// <param name="name">The signal name the run waits for.</param>
    /// <param name="payload">The signal's value, encoded with the client's codec.</param>
    /// <param name="cancellationToken">Cancels the delivery (it may be durable already).</param>
    public Task<DeliveredSignal> SignalAsync(RunId runId, string name, object? payload = null, CancellationToken cancellationToken = default)
        => SignalAsync(new SignalRequest(runId, name) { Payload = payload }, cancellationToken);

    /// <summary>Approves or rejects at a gate a run waits at (<see cref="RunContext.WaitForApprovalAsync"/>); the approver and the comment are journaled with the decision.</summary>
    /// <remarks>A decision for a gate the run has not reached yet waits in its inbox and applies when the run gets there.</remarks>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    /// <exception cref="RunFinishedException">The run has finished.</exception>
    public Task<DeliveredSignal> ApproveAsync(ApprovalRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        JournalText.CheckName(request.Gate, nameof(request));
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Approver, nameof(request));
        var payload = Options.Codec.Encode(new ApprovalPayload(request.Approved, request.Comment));
        return DeliverAsync(request.RunId, new SignalMessage(SignalNames.Approval(request.Gate), payload, request.Approver), cancellationToken);
    }

    /// <summary>Resolves an effect step left in doubt under <see cref="InDoubtPolicy.AskHuman"/>: done with a result, retry, or abort.</summary>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    /// <exception cref="RunFinishedException">The run has finished.</exception>
    public Task<DeliveredSignal> ResolveInDoubtAsync(ResolveRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Resolution, nameof(request));
        ArgumentException.ThrowIfNullOrWhiteSpace(request.ResolvedBy, nameof(request));
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Step, 1, nameof(request));
        var result = request.Resolution.Result is { IsJson: true } json ? JsonDocument.Parse(json.Data).RootElement.Clone() : (JsonElement?)null;
        var payload = Options.Codec.Encode(new ResolutionPayload(request.Resolution.Action, result));
        return DeliverAsync(request.RunId, new SignalMessage(SignalNames.Resolve(request.Step), payload, request.ResolvedBy), cancellationToken);
    }

    /// <summary>Cancels a run: it stops at its next durable call, runs its compensations and ends cancelled (or compensated).</summary>
    /// <exception cref="RunNotFoundException">The run does not exist.</exception>
    /// <exception cref="RunFinishedException">The run has finished.</exception>
    public async Task<DeliveredSignal> CancelAsync(CancelRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Reason, nameof(request));
        var delivered = await Store.DeliverSignalAsync(request.RunId, new SignalMessage(SignalNames.Cancel, Options.Codec.Encode(request.Reason)), cancellationToken).ConfigureAwait(false);
        if (_worker is not null && !_worker.TryCancelExecuting(request.RunId))
        {
            await _worker.TryActivateAsync(request.RunId).ConfigureAwait(false);
        }

        return delivered;
    }

    /// <inheritdoc cref="CancelAsync(CancelRequest, CancellationToken)"/>
    /// <param name="runId">The run to cancel.</param>
    /// <param name="cancellationToken">Cancels the request (the cancellation may be durable already).</param>
    public Task<DeliveredSignal> CancelAsync(RunId runId, CancellationToken cancellationToken = default)
        => CancelAsync(new CancelRequest(runId), cancellationToken);

    /// <summary>Forks a run: a new run whose journal holds the source's steps 1 to <see cref="ForkRequest.AtStep"/>, so it re-executes from the step after.</summary>
    /// <remarks>For "what if" runs with another model or prompt. With <see cref="ForkRequest.ReuseModelOutputs"/> recorded model outputs beyond the fork point are
    /// cache hits; with <see cref="ForkRequest.DryRun"/> effect steps return recorded results or fail loudly, never calling tools. The fork is pending until a
    /// worker that registers the workflow executes it.</remarks>
    /// <returns>A handle to the new run.</returns>
    /// <exception cref="RunNotFoundException">The source run does not exist.</exception>
    /// <exception cref="JournalConcurrencyException">The new run id exists already.</exception>
    public async Task<RunHandle> ForkAsync(ForkRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegative(request.AtStep, nameof(request));
        var entries = await Store.ReadAsync(request.Source, 0, cancellationToken).ConfigureAwait(false);
        var started = (RunStarted)entries[0];
        var runId = request.NewRunId ?? RunId.New();
        var copied = new List<JournalEntry>
        {
            started with
            {
                Sequence = 0,
                Timestamp = Options.TimeProvider.GetUtcNow(),
                Fork = new ForkInfo(request.Source, request.AtStep) { ReuseModelOutputs = request.ReuseModelOutputs, DryRun = request.DryRun },

                // A fork of a child run is nobody's child: its outcome must not reach the source's parent.
                ParentRunId = null,
                ParentStep = null,
            },
        };
        foreach (var entry in entries.Skip(1))
        {
            if (RunHistory.StepOf(entry) is { } step && step <= request.AtStep)
            {
                copied.Add(entry with { Sequence = copied.Count });
            }
        }

        await Store.AppendAsync(new RunAppend(runId, 0, copied) { Status = RunStatus.Pending }, cancellationToken).ConfigureAwait(false);
        await ActivateAsync(runId).ConfigureAwait(false);
        return new RunHandle(this, runId, isNew: true);
    }

    /// <summary>Deletes finished runs (journal, signals, index) that match <paramref name="request"/>; never an unfinished run.</summary>
    /// <returns>The runs deleted (or, for a dry run, that would be); at most <see cref="PurgeRequest.MaxRuns"/> per call.</returns>
    public Task<PurgeResult> PurgeAsync(PurgeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Store.PurgeRunsAsync(request, cancellationToken);
    }

    /// <summary>Creates or replaces a queue's definition in the store, so every worker of the store enforces its limits (last write wins).</summary>
    /// <exception cref="ArgumentException">The definition is not valid.</exception>
    /// <exception cref="NotSupportedException">The store does not implement <see cref="IRunQueueStore"/>.</exception>
    public Task ConfigureQueueAsync(QueueDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        return QueueStore.ConfigureQueueAsync(definition, cancellationToken);
    }

    /// <summary>Lists the store's queues with their limits and how many runs are running, queued and held back by a limit now.</summary>
    /// <exception cref="NotSupportedException">The store does not implement <see cref="IRunQueueStore"/>.</exception>
    public Task<IReadOnlyList<QueueState>> ListQueuesAsync(CancellationToken cancellationToken = default)
        => QueueStore.ListQueuesAsync(cancellationToken);

    private IRunQueueStore QueueStore => Store as IRunQueueStore
        ?? throw new NotSupportedException($"The store {Store.GetType().Name} does not support queues (it does not implement IRunQueueStore). Use the SQLite, PostgreSQL or in-memory store, or start the run without StartRunOptions.Queue.");

    private Task<RunHandle> StartCoreAsync<TInput>(string workflow, WorkflowOptions? known, TInput input, StartRunOptions? options, CancellationToken cancellationToken)
    {
        var started = NewStart(workflow, known, input is null ? null : Options.Codec.Encode(input));
        if (options?.Queue is null)
        {
            if (options is not null && (options.QueueKey is not null || options.Priority != 0 || options.Debounce is not null || options.DebounceSignal is not null))
            {
                throw new ArgumentException("StartRunOptions sets QueueKey, Priority, Debounce or DebounceSignal but no Queue: those apply to a run on a queue. Set Queue as well.", nameof(options));
            }

            return CreateAsync(options?.RunId ?? RunId.New(), started, cancellationToken);
        }

        if (options.DebounceSignal is not null)
        {
            SignalNames.CheckUserName(options.DebounceSignal, nameof(options));
            if (options.Debounce is null)
            {
                throw new ArgumentException($"StartRunOptions sets DebounceSignal '{options.DebounceSignal}' but no Debounce: the input is delivered as that signal only when a start is debounced. Set Debounce as well.", nameof(options));
            }
        }

        var placement = new QueuePlacement(options.Queue)
        {
            Key = options.QueueKey,
            Priority = options.Priority,
            DebounceWindow = options.Debounce,
            DebounceSignal = options.DebounceSignal is { } name ? new SignalMessage(name, started.Input) : null,
        };
        placement.Validate();
        return StartQueuedAsync(options.RunId ?? RunId.New(), started, placement, cancellationToken);
    }

    private async Task<RunHandle> StartQueuedAsync(RunId runId, RunStarted started, QueuePlacement placement, CancellationToken cancellationToken)
    {
        var result = await QueueStore.StartQueuedRunAsync(new RunAppend(runId, 0, [started]) { Status = RunStatus.Pending }, placement, cancellationToken).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case QueuedStartOutcome.Started:
                // Not claimed here by id: the worker's claim dequeues by priority, so a new run does not overtake waiting ones.
                _worker?.Wake();
                return new RunHandle(this, runId, isNew: true);
            case QueuedStartOutcome.Debounced:
                // The store delivered the debounce signal with its decision (not when the run it merged into has finished).
                if (result.Signal is not null)
                {
                    await ActivateAsync(result.RunId).ConfigureAwait(false);
                }

                return new RunHandle(this, result.RunId, isNew: false) { IsDebounced = true };
            default:
                await CheckExistingAsync(runId, started, cancellationToken).ConfigureAwait(false);
                return new RunHandle(this, runId, isNew: false);
        }
    }

    // Starts the run of a schedule's fire or trigger, its input encoded already; an existing run of that id is the fire's run.
    internal Task<RunHandle> StartScheduledAsync(RunId runId, string workflow, Payload? input, CancellationToken cancellationToken)
        => CreateAsync(runId, NewStart(workflow, _worker?.FindWorkflow(workflow)?.Options, input), cancellationToken);

    // Starts the child run of a parent's step (RunContext.RunChildAsync), or finds it started already: its id is derived from
    // the parent's id and the step, so a parent that starts it again after a crash finds the first start.
    internal Task<RunHandle> StartChildAsync(RunId childRunId, WorkflowDefinition child, Payload? input, RunId parent, int parentStep)
        => CreateAsync(childRunId, NewStart(child.Name, child.Options, input) with { ParentRunId = parent, ParentStep = parentStep }, CancellationToken.None);

    private RunStarted NewStart(string workflow, WorkflowOptions? known, Payload? input) => new()
    {
        Workflow = workflow,
        WorkflowVersion = known?.Version ?? 1,
        Input = input,
        Patches = known is { Patches.Count: > 0 } ? [.. known.Patches] : null,
        Timestamp = Options.TimeProvider.GetUtcNow(),
    };

    private async Task<RunHandle> CreateAsync(RunId runId, RunStarted started, CancellationToken cancellationToken)
    {
        try
        {
            await Store.AppendAsync(new RunAppend(runId, 0, [started]) { Status = RunStatus.Pending }, cancellationToken).ConfigureAwait(false);
        }
        catch (JournalConcurrencyException)
        {
            await CheckExistingAsync(runId, started, cancellationToken).ConfigureAwait(false);
            return new RunHandle(this, runId, isNew: false);
        }

        await ActivateAsync(runId).ConfigureAwait(false);
        return new RunHandle(this, runId, isNew: true);
    }

    private async Task CheckExistingAsync(RunId runId, RunStarted started, CancellationToken cancellationToken)
    {
        var existing = await Store.ReadAsync(runId, 0, cancellationToken).ConfigureAwait(false);
        if (existing[0] is RunStarted other && other.Workflow != started.Workflow)
        {
            throw new InvalidOperationException($"Run '{runId}' exists already as a run of workflow '{other.Workflow}', not '{started.Workflow}'.");
        }

        if (started.ParentRunId is { } parent && existing[0] is RunStarted found && (found.ParentRunId != parent || found.ParentStep != started.ParentStep))
        {
            throw new InvalidOperationException($"Step {started.ParentStep} of run '{parent}' starts its child run as '{runId}', but a run of that id exists already and is not that step's child. Child run ids are '{{parent}}:c{{step}}' (RunId.ForChild): do not start runs with such ids yourself.");
        }
    }

    // The name and options of a class-form workflow: from the runtime that registers it, else from an instance.
    internal (string Name, WorkflowOptions Options) Describe<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TWorkflow, TInput, TResult>()
        where TWorkflow : Workflow<TInput, TResult>
    {
        if (_worker?.FindWorkflow(typeof(TWorkflow)) is { } registered)
        {
            return (registered.Name, registered.Options);
        }

        if (typeof(TWorkflow).IsAbstract || typeof(TWorkflow).GetConstructor(Type.EmptyTypes) is null)
        {
            throw new InvalidOperationException(
                $"The client cannot tell the name of workflow class {typeof(TWorkflow).Name}: it has no public parameterless constructor{(_worker is null ? string.Empty : " and the runtime does not register it")}. " +
                $"Start it by name (client.StartAsync(\"{typeof(TWorkflow).Name}\", input) if its Name is not overridden), or through the client of the runtime that registers it (DurableRuntime.Client, or DurableClient from the service provider after AddDurably().AddWorkflow<...>()).");
        }

        var prototype = (TWorkflow)Activator.CreateInstance(typeof(TWorkflow))!;
        var name = prototype.Name;
        if (_worker is not null && _worker.FindWorkflow(name) is null)
        {
            throw new WorkflowNotFoundException(name);
        }

        return (name, prototype.Options);
    }

    // Delivers any signal, the runtime's own included, and wakes the run when this client's runtime can execute it.
    internal async Task<DeliveredSignal> DeliverAsync(RunId runId, SignalMessage message, CancellationToken cancellationToken)
    {
        var delivered = await Store.DeliverSignalAsync(runId, message, cancellationToken).ConfigureAwait(false);
        await ActivateAsync(runId).ConfigureAwait(false);
        return delivered;
    }

    private Task ActivateAsync(RunId runId) => _worker?.TryActivateAsync(runId) ?? Task.CompletedTask;

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
