using Durably.Codecs;

namespace Durably.Testing;

/// <summary>Configures a <see cref="CrashTester"/>.</summary>
public sealed class CrashTestOptions
{
    /// <summary>Gets the run id every scenario uses. Default <c>crash-test</c>.</summary>
    /// <remarks>Every scenario runs on a fresh store under the same id, so <see cref="RunContext.NewGuid"/>, <see cref="RunContext.Random"/> and idempotency keys are the same in each and results compare equal.</remarks>
    public RunId RunId { get; init; } = new("crash-test");

    /// <summary>Gets how long one run (the reference, or one side of a crash) may take before the scenario fails. Default 30 seconds.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets the payload codec, the same as in production when it matters (encryption, compression). Default JSON.</summary>
    public IPayloadCodec Codec { get; init; } = JsonPayloadCodec.Default;

    /// <summary>Gets the runtime's default checkpoint policy. Default <see cref="CheckpointPolicy.EveryStep"/>.</summary>
    public CheckpointPolicy Checkpoint { get; init; } = CheckpointPolicy.EveryStep;

    /// <summary>Gets the retry policy of steps that set none. Default <see cref="RetryPolicy.Default"/>; backoffs pass on a fake clock, without waiting.</summary>
    public RetryPolicy DefaultRetry { get; init; } = RetryPolicy.Default;

    /// <summary>Gets the answer to each signal a run waits for; <see langword="null"/> to approve every approval gate and answer no other signal.</summary>
    /// <remarks>Called when a run is suspended at a wait. Return <see langword="null"/> to leave the wait unanswered (the scenario then times out unless the wait has a timeout). Answers must not depend on the scenario, or results will differ.</remarks>
    public Func<SignalWait, SignalReply?>? Signals { get; init; }

    /// <summary>Gets how a person resolves an effect step left in doubt under <see cref="InDoubtPolicy.AskHuman"/>. Default: retry it.</summary>
    public Func<InDoubtRequest, InDoubtResolution>? ResolveInDoubt { get; init; }

    /// <summary>Gets a value indicating whether a model step whose outcome was recorded, yet ran again after the crash, fails the crash point. Default false: it is reported, since it costs tokens, not correctness.</summary>
    public bool FailOnRepeatedModelSteps { get; init; }
}
