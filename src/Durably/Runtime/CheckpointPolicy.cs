namespace Durably;

/// <summary>Says which steps are journaled; side-effecting steps are journaled whatever the policy.</summary>
/// <remarks>A policy can make recovery run pure work again; it can never make an effect run again.</remarks>
public enum CheckpointPolicy
{
    /// <summary>Every model, tool and compute step is journaled (the default).</summary>
    EveryStep,

    /// <summary>Only <see cref="RunContext.PhaseAsync{T}(string, Func{Task{T}}, StepOptions?)"/> boundaries (and effects) are journaled; calls inside a phase run again if the crash falls inside it.</summary>
    PlanStep,

    /// <summary>Only model calls, <see cref="RunContext.DecideAsync{T}(string, Func{StepContext, Task{T}})"/> and effects are journaled.</summary>
    DecisionPoint,

    /// <summary>A compute step is journaled when it took longer than <see cref="DurableRuntimeOptions.AdaptiveCostFactor"/> times the journal's own measured write time; model calls and effects always are.</summary>
    Adaptive,
}
