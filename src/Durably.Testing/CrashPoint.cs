using Durably.Journal;

namespace Durably.Testing;

/// <summary>Says where in a run a crash test crashed it.</summary>
public enum CrashPointKind
{
    /// <summary>No crash: the reference run's finished journal replayed against the code.</summary>
    FinishedJournalReplay,

    /// <summary>After the run's start was durable, before anything else.</summary>
    AfterRunStarted,

    /// <summary>After a step's outcome was durable.</summary>
    AfterStep,

    /// <summary>Inside an effect step's in-doubt window: its intent durable, its body run, its outcome not durable.</summary>
    InDoubt,

    /// <summary>After a wait (signal, approval, timer) was durably started.</summary>
    AfterWaitStarted,

    /// <summary>After a wait ended durably (signal received, timer fired).</summary>
    AfterWaitEnded,
}

/// <summary>Describes one point where a crash test crashes a run.</summary>
/// <param name="Kind">What kind of boundary it is.</param>
/// <param name="Sequence">The journal sequence the crash follows: every entry up to it is durable, none after it.</param>
/// <param name="Step">The step at the boundary, if any.</param>
/// <param name="StepName">The step's name, if any.</param>
/// <param name="StepKind">The step's kind, if any.</param>
public sealed record CrashPoint(CrashPointKind Kind, long Sequence, int? Step, string? StepName, StepKind? StepKind)
{
    /// <summary>Returns the crash point in words, for example <c>after step 2 'charge' (effect)</c>.</summary>
    public override string ToString()
    {
        var step = $"step {Step} '{StepName}' ({StepKind?.ToString().ToLowerInvariant()})";
        return Kind switch
        {
            CrashPointKind.FinishedJournalReplay => "replay of the finished journal",
            CrashPointKind.AfterRunStarted => "after the run started",
            CrashPointKind.InDoubt => $"in doubt: {step}",
            CrashPointKind.AfterWaitStarted => $"waiting: {step}",
            CrashPointKind.AfterWaitEnded => $"after wait {step}",
            _ => $"after {step}",
        };
    }
}
