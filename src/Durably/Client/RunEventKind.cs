using System.Text.Json.Serialization;

namespace Durably;

/// <summary>Says what a <see cref="RunEvent"/> reports; each kind comes from one kind of journal entry.</summary>
/// <remarks>The names after each value are the stable wire names (the <c>event:</c> field of the server-sent events of <c>Durably.AspNetCore</c>).</remarks>
public enum RunEventKind
{
    /// <summary>The run started (<c>run.started</c>); <see cref="RunEvent.Name"/> is the workflow.</summary>
    [JsonStringEnumMemberName("run.started")]
    RunStarted,

    /// <summary>A step began (<c>step.started</c>). Steps other than tool calls journal their start with their outcome, or with their first progress.</summary>
    [JsonStringEnumMemberName("step.started")]
    StepStarted,

    /// <summary>A running step produced more output (<c>step.progress</c>): <see cref="RunEvent.Text"/> is the delta, for example model stream text.</summary>
    [JsonStringEnumMemberName("step.progress")]
    StepProgress,

    /// <summary>A step completed (<c>step.completed</c>); <see cref="RunEvent.Preview"/> is the start of its result.</summary>
    [JsonStringEnumMemberName("step.completed")]
    StepCompleted,

    /// <summary>An attempt of a step failed (<c>step.failed</c>); <see cref="RunEvent.RetryAt"/> says when it is retried, if it is.</summary>
    [JsonStringEnumMemberName("step.failed")]
    StepFailed,

    /// <summary>The run waits (<c>run.suspended</c>): for a signal or an approval, or until a timer or a wait's deadline is due; <see cref="RunEvent.WaitingFor"/> says which.</summary>
    [JsonStringEnumMemberName("run.suspended")]
    Suspended,

    /// <summary>A waiting step received a signal or an approval, or its wait timed out (<c>signal.received</c>).</summary>
    [JsonStringEnumMemberName("signal.received")]
    SignalReceived,

    /// <summary>A durable timer fired (<c>timer.fired</c>).</summary>
    [JsonStringEnumMemberName("timer.fired")]
    TimerFired,

    /// <summary>A worker resumed the run after an earlier activation, after a wait or a crash (<c>run.resumed</c>).</summary>
    [JsonStringEnumMemberName("run.resumed")]
    Resumed,

    /// <summary>The run completed (<c>run.completed</c>): the last event.</summary>
    [JsonStringEnumMemberName("run.completed")]
    RunCompleted,

    /// <summary>The run failed (<c>run.failed</c>): the last event.</summary>
    [JsonStringEnumMemberName("run.failed")]
    RunFailed,

    /// <summary>The run was cancelled (<c>run.cancelled</c>): the last event.</summary>
    [JsonStringEnumMemberName("run.cancelled")]
    RunCancelled,
}
