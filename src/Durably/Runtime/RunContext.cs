using System.Diagnostics.CodeAnalysis;
using Durably.Journal;
using Microsoft.Extensions.Logging;

namespace Durably;

/// <summary>Gives workflow code its replay-safe primitives: durable steps, waits, time, ids and randomness.</summary>
/// <remarks>
/// <para>A workflow is re-executed from the top on recovery. Each durable call takes the next step number in
/// call order; a call whose outcome is journaled returns it without running again. Workflow code must
/// therefore be deterministic apart from what goes through this context: use <see cref="UtcNow"/>,
/// <see cref="NewGuid"/> and <see cref="Random"/> instead of <see cref="DateTime.UtcNow"/>,
/// <see cref="Guid.NewGuid"/> and <see cref="System.Random"/>, and do I/O only inside steps.</para>
/// <para>Steps may run in parallel (<see cref="Task.WhenAll(Task[])"/>) when they are issued in a deterministic
/// order, for example all started before the first is awaited. Methods are thread-safe.</para>
/// <para>Inside a step body (and a reconciliation callback) the members that are journaled or replayed (<see cref="UtcNow"/>,
/// <see cref="NewGuid"/>, <see cref="Random"/>, steps, phases, waits) throw <see cref="InvalidOperationException"/>: a body
/// runs only until its outcome is journaled, so what it took from the context would be missing on replay.</para>
/// </remarks>
public sealed class RunContext
{
    private static readonly AsyncLocal<RunContext?> Ambient = new();
    private static readonly AsyncLocal<string?> StepBody = new();
    private readonly RunExecution _execution;

    internal RunContext(RunExecution execution)
    {
        _execution = execution;
    }

    /// <summary>Gets the context of the run whose workflow code is executing on this async flow, or <see langword="null"/> outside a run and inside step bodies.</summary>
    /// <remarks>
    /// For integrations that cannot take the context as a parameter, such as the <c>Microsoft.Extensions.AI</c> chat client
    /// middleware in <c>Durably.AI</c>. Workflow code should use the context it is given. It is <see langword="null"/> inside a
    /// step body, so calls made there are not journaled as nested steps.
    /// </remarks>
    public static RunContext? Current => Ambient.Value;

    internal static void SetCurrent(RunContext? context)
    {
        Ambient.Value = context;
        StepBody.Value = null;
    }

    // Marks the async flow of a step body (or a reconciliation): workflow code is not running there.
    internal static void EnterStepBody(string step)
    {
        Ambient.Value = null;
        StepBody.Value = step;
    }

    /// <summary>Gets the run's id.</summary>
    public RunId RunId => _execution.RunId;

    /// <summary>Gets the workflow's registered name.</summary>
    public string Workflow => _execution.Started.Workflow;

    /// <summary>Gets the workflow version recorded when the run started.</summary>
    public int WorkflowVersion => _execution.Started.WorkflowVersion;

    /// <summary>Gets a value indicating whether the code is re-executing steps that are already journaled.</summary>
    public bool IsReplaying => _execution.IsReplaying;

    /// <summary>Gets the current time, journaled on first use so replay sees the same value.</summary>
    /// <remarks>Each read is a tiny journaled step; read it once and keep the value where you can.</remarks>
    /// <exception cref="InvalidOperationException">Called inside a step body (see <see cref="StepAsync{T}(string, Func{StepContext, Task{T}}, StepOptions?)"/>).</exception>
    public DateTimeOffset UtcNow => ThrowIfInStepBody(nameof(UtcNow))._execution.Steps.RecordedUtcNow();

    /// <summary>Gets a random number generator seeded from the run id, so replay produces the same sequence.</summary>
    /// <exception cref="InvalidOperationException">Called inside a step body.</exception>
    public Random Random => ThrowIfInStepBody(nameof(Random))._execution.Random;

    /// <summary>Gets a logger that stays silent while the run replays, so each message is written once.</summary>
    public ILogger Logger => _execution.ReplaySafeLogger;

    /// <summary>Gets a token cancelled when the run is cancelled.</summary>
    public CancellationToken CancellationToken => _execution.RunCancellation;

    /// <summary>Returns a GUID derived from the run id and a counter: unique per call, the same on replay.</summary>
    /// <exception cref="InvalidOperationException">Called inside a step body.</exception>
    public Guid NewGuid() => ThrowIfInStepBody(nameof(NewGuid) + "()")._execution.NextGuid();

    /// <summary>Returns whether the run was started by code that declared the change in <see cref="WorkflowOptions.Patches"/>.</summary>
    /// <remarks>Lets new code take a new path only for runs that started after the change, while older runs in flight replay the old path.</remarks>
    public bool IsPatched(string changeId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(changeId);
        return _execution.Started.Patches?.Contains(changeId) == true;
    }

    /// <summary>Runs a durable step: journaled per the checkpoint policy, replayed from the journal after a crash.</summary>
    /// <param name="name">The step's name; on replay it must match the journal at this position.</param>
    /// <param name="body">The work. It receives the idempotency key, attempt and cancellation token.</param>
    /// <param name="options">Kind, retries, in-doubt policy and compensation; a compute step by default.</param>
    /// <returns>The body's result, or the journaled result on replay.</returns>
    /// <exception cref="StepFailedException">The step failed for good (retries exhausted), now or in the journal.</exception>
    /// <exception cref="NonDeterminismException">The journal holds another step at this position.</exception>
    public Task<T> StepAsync<T>(string name, Func<StepContext, Task<T>> body, StepOptions? options = null)
    {
        JournalText.CheckName(name);
        ArgumentNullException.ThrowIfNull(body);
        return ThrowIfInStepBody(nameof(StepAsync))._execution.Steps.StepAsync(name, body, options ?? Defaults, forceJournal: false);
    }

    /// <inheritdoc cref="StepAsync{T}(string, Func{StepContext, Task{T}}, StepOptions?)"/>
    public Task StepAsync(string name, Func<StepContext, Task> body, StepOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return StepAsync<NoResult?>(name, async step =>
        {
            await body(step);
            return null;
        }, options);
    }

    /// <summary>Runs a decision step: a compute step that is journaled under every checkpoint policy, including <see cref="CheckpointPolicy.DecisionPoint"/>.</summary>
    public Task<T> DecideAsync<T>(string name, Func<StepContext, Task<T>> body)
    {
        JournalText.CheckName(name);
        ArgumentNullException.ThrowIfNull(body);
        return ThrowIfInStepBody(nameof(DecideAsync))._execution.Steps.StepAsync(name, body, Defaults, forceJournal: true);
    }

    /// <summary>Runs a group of calls journaled as one unit: once the phase completes, replay returns its result without running it.</summary>
    /// <remarks>
    /// Under <see cref="CheckpointPolicy.PlanStep"/> only phases (and effects) are journaled, so a crash inside a phase
    /// runs its compute and model calls again. Effects inside a phase are always journaled. Phases must not run in
    /// parallel with other durable calls of the same run.
    /// </remarks>
    public Task<T> PhaseAsync<T>(string name, Func<Task<T>> body, StepOptions? options = null)
    {
        JournalText.CheckName(name);
        ArgumentNullException.ThrowIfNull(body);
        return ThrowIfInStepBody(nameof(PhaseAsync))._execution.Steps.PhaseAsync(name, body);
    }

    /// <summary>Waits durably for a signal: the run is unloaded until the signal is delivered (by any process) or the timeout passes.</summary>
    /// <returns>The signal's payload, decoded.</returns>
    /// <exception cref="TimeoutException">The timeout passed first (journaled, so replay times out at the same point).</exception>
    /// <exception cref="ArgumentException">The name is empty, or reserved: names starting with <c>$</c> or <c>approval:</c> are the runtime's own
    /// signals; wait for an approval with <see cref="WaitForApprovalAsync"/>.</exception>
    public Task<T> WaitForSignalAsync<T>(string name, TimeSpan? timeout = null)
    {
        SignalNames.CheckUserName(name, nameof(name));
        return ThrowIfInStepBody(nameof(WaitForSignalAsync))._execution.Waits.WaitForSignalAsync<T>(name, timeout);
    }

    /// <summary>Waits durably for a person to approve or reject at a gate; the decision, the approver and the comment are journaled.</summary>
    /// <remarks>Deliver the decision with <see cref="DurableClient.ApproveAsync(ApprovalRequest, CancellationToken)"/> or <c>durably approve RUN GATE</c>.</remarks>
    public Task<ApprovalDecision> WaitForApprovalAsync(string gate, TimeSpan? timeout = null)
    {
        JournalText.CheckName(gate);
        return ThrowIfInStepBody(nameof(WaitForApprovalAsync))._execution.Waits.WaitForApprovalAsync(gate, timeout);
    }

    /// <summary>Sleeps durably: the run is unloaded and resumes when the timer is due, also after a restart.</summary>
    public Task SleepAsync(TimeSpan duration, string name = "sleep")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        JournalText.CheckName(name);
        return ThrowIfInStepBody(nameof(SleepAsync))._execution.Waits.SleepAsync(duration, name);
    }

    /// <summary>Runs a child run (a sub-agent) and waits for it durably: a run of its own, with its own journal, started once, whose outcome becomes this step's.</summary>
    /// <typeparam name="TInput">The child's input.</typeparam>
    /// <typeparam name="TResult">The child's result.</typeparam>
    /// <param name="workflow">The child's registered workflow name; the runtime executing this run must register it.</param>
    /// <param name="input">The child's input. Its hash is journaled and checked on replay, like a step's arguments.</param>
    /// <param name="options">The step's name (default: the workflow name).</param>
    /// <returns>The child's result, or the journaled result on replay.</returns>
    /// <remarks>
    /// <para>The step journals which child it starts before it starts it. The child's id is <see cref="RunId.ForChild"/> of this run's id and
    /// the step (<c>{parent}:c{step}</c>), so a replay or a recovery after a crash finds the child started already instead of starting a
    /// second one. The child records this run as its parent (<see cref="Journal.RunStarted.ParentRunId"/>), which the CLI and the dashboard
    /// show, and executes like any run: on any worker that registers its workflow, in this process or another one sharing the store.</para>
    /// <para>While the child runs, this run is unloaded (no task, no thread, no lease), as for a signal. When the child finishes, it reports its
    /// outcome to this run's inbox before it records its own end, and this run resumes by replay and journals that outcome as the step's.
    /// A crash of either side in between repeats the report, never the child.</para>
    /// <para>Children issued together (all started before the first is awaited, as <see cref="Task.WhenAll(Task[])"/> over a list does) run
    /// in parallel. Cancelling this run cancels the children it waits for, and theirs.</para>
    /// </remarks>
    /// <exception cref="ChildRunFailedException">The child failed, was cancelled or was compensated, now or in the journal.</exception>
    /// <exception cref="WorkflowNotFoundException">The runtime executing this run registers no workflow named <paramref name="workflow"/>.</exception>
    /// <exception cref="NonDeterminismException">The journal holds another step at this position, or this step with another input.</exception>
    /// <exception cref="InvalidOperationException">Called inside a step body, or a run that is not this step's child holds the child's id.</exception>
    public Task<TResult> RunChildAsync<TInput, TResult>(string workflow, TInput input, ChildRunOptions? options = null)
    {
        JournalText.CheckName(workflow);
        var name = options?.Name ?? workflow;
        JournalText.CheckName(name, nameof(options));
        var self = ThrowIfInStepBody(nameof(RunChildAsync));
        var definition = self._execution.Runtime.FindWorkflow(workflow) ?? throw new WorkflowNotFoundException(workflow);
        return self._execution.Children.RunChildAsync<TInput, TResult>(definition, input, name);
    }

    /// <summary>Runs a child run of the class-form workflow <typeparamref name="TWorkflow"/> and waits for it durably.</summary>
    /// <typeparam name="TWorkflow">The workflow class; the runtime executing this run must register it.</typeparam>
    /// <typeparam name="TInput">The child's input.</typeparam>
    /// <typeparam name="TResult">The child's result.</typeparam>
    /// <param name="input">The child's input.</param>
    /// <param name="options">The step's name (default: the workflow's name).</param>
    /// <returns>The child's result, or the journaled result on replay.</returns>
    /// <remarks>The typed counterpart of <see cref="RunChildAsync{TInput, TResult}(string, TInput, ChildRunOptions?)"/>, as
    /// <see cref="DurableClient.StartAsync{TWorkflow, TInput, TResult}(TInput, StartRunOptions?, CancellationToken)"/> is of a start by name.</remarks>
    /// <exception cref="ChildRunFailedException">The child failed, was cancelled or was compensated, now or in the journal.</exception>
    /// <exception cref="WorkflowNotFoundException">The runtime executing this run does not register the workflow.</exception>
    /// <exception cref="InvalidOperationException">The workflow's name cannot be told (see <see cref="DurableClient.StartAsync{TWorkflow, TInput, TResult}(TInput, StartRunOptions?, CancellationToken)"/>), or called inside a step body.</exception>
    public Task<TResult> RunChildAsync<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TWorkflow, TInput, TResult>(TInput input, ChildRunOptions? options = null)
        where TWorkflow : Workflow<TInput, TResult>
    {
        var (name, _) = ThrowIfInStepBody(nameof(RunChildAsync))._execution.Runtime.Client.Describe<TWorkflow, TInput, TResult>();
        return RunChildAsync<TInput, TResult>(name, input, options);
    }

    private static StepOptions Defaults { get; } = new();

    // A step body runs only while its step is not journaled, so what it asks this context for would be
    // journaled on the first execution and missing on every replay: the run would diverge.
    private RunContext ThrowIfInStepBody(string member)
    {
        if (StepBody.Value is { } step)
        {
            throw new InvalidOperationException($"ctx.{member} was used inside the body of step '{step}'. A step body runs only until its outcome is journaled, so anything it asks the run context for would be missing on replay and the run would diverge. Read ctx.UtcNow, ctx.NewGuid() or ctx.Random before the step and pass the value in; inside the body use its StepContext (idempotency key, cancellation) and plain .NET (DateTime.UtcNow is fine there: the step's result is journaled); start further steps after it returns.");
        }

        return this;
    }

    // The journaled result of a step without one.
    private sealed record NoResult;
}
