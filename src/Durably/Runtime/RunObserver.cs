using Durably.Journal;
using Durably.Storage;

namespace Durably;

/// <summary>Receives notifications about runs and steps as a runtime executes them; override what you need.</summary>
/// <remarks>Called on the runtime's threads, possibly concurrently for different runs; keep overrides fast and never throw.</remarks>
public abstract class RunObserver
{
    /// <summary>Called when a run's execution (first start or a resumption) begins.</summary>
    public virtual void OnRunActivated(RunId runId, string workflow, bool resumed)
    {
    }

    /// <summary>Called before a step's body runs (not for replayed steps).</summary>
    public virtual void OnStepStarting(RunId runId, StepInfo step)
    {
    }

    /// <summary>Called after a step's outcome is durable.</summary>
    public virtual void OnStepCompleted(RunId runId, StepInfo step, TimeSpan duration, TokenUsage? usage, bool failed)
    {
    }

    /// <summary>Called when a step's recorded outcome is returned from the journal instead of running its body.</summary>
    public virtual void OnStepReplayed(RunId runId, StepInfo step, TokenUsage? usage)
    {
    }

    /// <summary>Called when a run is unloaded to wait.</summary>
    public virtual void OnRunSuspended(RunId runId, string detail, DateTimeOffset? wakeAt)
    {
    }

    /// <summary>Called when a run finishes.</summary>
    public virtual void OnRunFinished(RunId runId, RunStatus status, Payload? result, ErrorInfo? error)
    {
    }
}

/// <summary>Describes a step for observers.</summary>
/// <param name="Step">The step's number.</param>
/// <param name="Kind">The step's kind.</param>
/// <param name="Name">The step's name.</param>
/// <param name="Attempt">The attempt.</param>
public sealed record StepInfo(int Step, StepKind Kind, string Name, int Attempt);
