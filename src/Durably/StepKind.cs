using System.Text.Json.Serialization;

namespace Durably;

/// <summary>Says what kind of work a step does; the runtime journals each kind according to its checkpoint policy.</summary>
public enum StepKind
{
    /// <summary>Pure computation: re-running it has no outside effect.</summary>
    [JsonStringEnumMemberName("compute")]
    Compute,

    /// <summary>A model call: re-running it costs tokens and may return another answer.</summary>
    [JsonStringEnumMemberName("model")]
    Model,

    /// <summary>A tool call or anything else with side effects: always journaled, intent first.</summary>
    [JsonStringEnumMemberName("effect")]
    Effect,

    /// <summary>A group of calls journaled as one unit.</summary>
    [JsonStringEnumMemberName("phase")]
    Phase,

    /// <summary>A wait for a signal or an approval.</summary>
    [JsonStringEnumMemberName("signal")]
    Signal,

    /// <summary>A durable sleep.</summary>
    [JsonStringEnumMemberName("timer")]
    Timer,

    /// <summary>A child run.</summary>
    [JsonStringEnumMemberName("child")]
    Child,

    /// <summary>A recorded non-deterministic value (time, guid, random seed, patch decision).</summary>
    [JsonStringEnumMemberName("value")]
    Value,

    /// <summary>A compensating action run when the run fails or is cancelled.</summary>
    [JsonStringEnumMemberName("compensation")]
    Compensation,
}
