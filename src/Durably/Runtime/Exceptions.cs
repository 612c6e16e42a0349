using Durably.Journal;
using Durably.Storage;

namespace Durably;

/// <summary>Thrown when replayed code asks for a different step than the journal recorded at that position.</summary>
/// <remarks>The run stops in the <see cref="RunStatus.Failed"/> state with this message; its journal is left unchanged so a corrected deployment can resume it.</remarks>
public sealed class NonDeterminismException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public NonDeterminismException(RunId runId, int step, string journaled, string requested)
        : base($"Run '{runId}' is not deterministic at step {step}: the journal holds {journaled}, but the code asked for {requested}. The workflow code changed in a way that breaks runs in flight, or it uses time, randomness or I/O outside RunContext. Deploy code that replays this journal (use ctx.IsPatched for new paths) and resume the run.")
    {
        RunId = runId;
        Step = step;
        Journaled = journaled;
        Requested = requested;
    }

    /// <summary>Gets the run.</summary>
    public RunId RunId { get; }

    /// <summary>Gets the step number where code and journal differ.</summary>
    public int Step { get; }

    /// <summary>Gets what the journal holds at that step.</summary>
    public string Journaled { get; }

    /// <summary>Gets what the code asked for.</summary>
    public string Requested { get; }
}

/// <summary>Thrown into workflow code when a step failed for good (its retries exhausted, or replayed from the journal).</summary>
public sealed class StepFailedException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public StepFailedException(string stepName, int step, ErrorInfo error, Exception? innerException = null)
        : base($"Step {step} '{stepName}' failed: {error.Type}: {error.Message}", innerException)
    {
        ArgumentNullException.ThrowIfNull(error);
        StepName = stepName;
        Step = step;
        ErrorType = error.Type;
        ErrorMessage = error.Message;
    }

    /// <summary>Gets the step's name.</summary>
    public string StepName { get; }

    /// <summary>Gets the step's number.</summary>
    public int Step { get; }

    /// <summary>Gets the full type name of the original exception.</summary>
    public string ErrorType { get; }

    /// <summary>Gets the original exception's message.</summary>
    public string ErrorMessage { get; }
}

/// <summary>Thrown into a parent's workflow code when a child run (<see cref="RunContext.RunChildAsync{TInput, TResult}(string, TInput, ChildRunOptions?)"/>) failed, was cancelled or was compensated.</summary>
/// <remarks>The child's outcome is journaled in the parent as the step's outcome, so replay throws the same exception without asking
/// the child again. A child cancelled on its own (by <c>durably cancel CHILD</c>) ends the parent's step this way too; the parent is not
/// cancelled, and may catch the exception and go on. When the parent itself is cancelled, its children are cancelled with it, and the
/// parent unwinds with <see cref="OperationCanceledException"/> as it does at any other step.</remarks>
public sealed class ChildRunFailedException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public ChildRunFailedException(string stepName, int step, RunId childRunId, RunStatus status, ErrorInfo error)
        : base($"Child run '{childRunId}' of step {step} '{stepName}' ended {status.ToString().ToLowerInvariant()}: {error?.Type}: {error?.Message}")
    {
        ArgumentNullException.ThrowIfNull(error);
        StepName = stepName;
        Step = step;
        ChildRunId = childRunId;
        Status = status;
        Error = error;
    }

    /// <summary>Gets the name of the parent's step that ran the child.</summary>
    public string StepName { get; }

    /// <summary>Gets the number of the parent's step that ran the child.</summary>
    public int Step { get; }

    /// <summary>Gets the child run's id.</summary>
    public RunId ChildRunId { get; }

    /// <summary>Gets how the child ended: <see cref="RunStatus.Failed"/>, <see cref="RunStatus.Cancelled"/> or <see cref="RunStatus.Compensated"/>.</summary>
    public RunStatus Status { get; }

    /// <summary>Gets the child's error: the type name and message of what failed it, or <see cref="OperationCanceledException"/> and the reason for a cancelled child.</summary>
    public ErrorInfo Error { get; }
}

/// <summary>Records that an effect step was in doubt at recovery and its policy said to fail.</summary>
public sealed class InDoubtException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public InDoubtException(string stepName, int step)
        : base($"Step {step} '{stepName}' was in doubt at recovery: its intent was journaled but not its outcome, so it may or may not have taken effect. Its in-doubt policy is Fail.")
    {
        StepName = stepName;
        Step = step;
    }

    /// <summary>Gets the step's name.</summary>
    public string StepName { get; }

    /// <summary>Gets the step's number.</summary>
    public int Step { get; }
}

/// <summary>Thrown when awaiting the result of a run that failed, was cancelled or was compensated.</summary>
public sealed class RunFailedException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public RunFailedException(RunId runId, RunStatus status, ErrorInfo? error)
        : base(error is null ? $"Run '{runId}' ended {status}." : $"Run '{runId}' ended {status}: {error.Type}: {error.Message}")
    {
        RunId = runId;
        Status = status;
        Error = error;
    }

    /// <summary>Gets the run.</summary>
    public RunId RunId { get; }

    /// <summary>Gets the run's final status.</summary>
    public RunStatus Status { get; }

    /// <summary>Gets the recorded error, if any.</summary>
    public ErrorInfo? Error { get; }
}

/// <summary>Thrown when a run names a workflow this runtime has not registered.</summary>
public sealed class WorkflowNotFoundException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public WorkflowNotFoundException(string workflow)
        : base($"No workflow named '{workflow}' is registered with this runtime. Register it with DurableRuntime.Register before starting runs of it.")
    {
        Workflow = workflow;
    }

    /// <summary>Gets the workflow name.</summary>
    public string Workflow { get; }
}

// Unwinds workflow code when the run must be unloaded (a wait that is not satisfied yet). Never seen by users
// unless they catch every exception; the runtime ignores whatever the code does after it.
internal sealed class RunSuspendedException() : Exception("The run is suspended; this exception unwinds the workflow so it can be unloaded. Do not catch it.");
