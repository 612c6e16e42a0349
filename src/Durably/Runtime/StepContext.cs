using Microsoft.Extensions.Logging;

namespace Durably;

/// <summary>Carries what a step body needs to act safely: its idempotency key, attempt, fencing token and cancellation.</summary>
public sealed class StepContext
{
    private readonly StepAttemptWatch? _watch;

    internal StepContext(RunId runId, int step, string name, int attempt, long fencingToken, ILogger logger, CancellationToken cancellationToken, StepAttemptWatch? watch = null)
    {
        _watch = watch;
        RunId = runId;
        Step = step;
        Name = name;
        Attempt = attempt;
        FencingToken = fencingToken;
        Logger = logger;
        CancellationToken = cancellationToken;
    }

    /// <summary>Gets the run the step belongs to.</summary>
    public RunId RunId { get; }

    /// <summary>Gets the step's number in call order.</summary>
    public int Step { get; }

    /// <summary>Gets the step's name.</summary>
    public string Name { get; }

    /// <summary>Gets the key to pass on to the target (for example as an <c>Idempotency-Key</c> header): <c>{run id}:{step}</c>, the same on every attempt and every replay.</summary>
    public string IdempotencyKey => field ??= MakeIdempotencyKey(RunId, Step);

    /// <summary>Gets the attempt number, starting at 1.</summary>
    public int Attempt { get; }

    /// <summary>Gets the lease epoch of the worker running the step; pass it on (for example as <c>X-Fencing-Token</c>) so a target can refuse a worker that lost its lease.</summary>
    public long FencingToken { get; }

    /// <summary>Gets a logger for the step body.</summary>
    public ILogger Logger { get; }

    /// <summary>Gets a token that is cancelled when the run is cancelled, the runtime stops, or the attempt exceeds its <see cref="StepOptions.StartToCloseTimeout"/> or <see cref="StepOptions.HeartbeatTimeout"/>.</summary>
    /// <remarks>A cancel requested by a client in another process reaches it at the worker's next lease renewal: within a third of
    /// <see cref="DurableRuntimeOptions.LeaseDuration"/>, or of the step's <see cref="StepOptions.HeartbeatTimeout"/> when it has one.</remarks>
    public CancellationToken CancellationToken { get; }

    /// <summary>Records the tokens a model call used, so the step's outcome entry carries them (for accounting and replay savings).</summary>
    public void ReportUsage(TokenUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ReportedUsage = usage;
    }

    /// <summary>Gets which limit the attempt exceeded once its <see cref="CancellationToken"/> was cancelled for it, or <see langword="null"/>.</summary>
    /// <remarks>A body that can stop cleanly reads it after its token is cancelled to tell a timeout from a cancelled run: it has
    /// <see cref="StepOptions.TimeoutGrace"/> to return (a result it returns then is the attempt's outcome) or throw, after which
    /// the attempt fails with a <see cref="StepTimeoutException"/> whatever it does.</remarks>
    public StepTimeoutKind? TimedOutBy => _watch?.ExpiredBy;

    /// <summary>Says the body is alive and making progress, for a step with a <see cref="StepOptions.HeartbeatTimeout"/>.</summary>
    /// <remarks>
    /// <para>The first call declares that the body heartbeats: from then on, going longer than the heartbeat timeout without another call
    /// means the body is hung, and the attempt is cancelled and fails with a <see cref="StepTimeoutException"/>. The worker keeps the
    /// run's lease alive by itself while the process runs; a call costs no store write. Does nothing in a step without a heartbeat
    /// timeout, so a body can be shared between steps with and without one. Thread-safe.</para>
    /// </remarks>
    /// <param name="details">An optional progress note (for example "page 3 of 10"); <see langword="null"/> keeps the last one. When the attempt
    /// times out, the last note is part of the journaled failure (<see cref="StepTimeoutException.LastHeartbeatDetails"/>), so <c>durably runs show</c>
    /// tells how far it got.</param>
    public void Heartbeat(string? details = null) => _watch?.Beat(details);

    internal TokenUsage? ReportedUsage { get; private set; }

    internal static string MakeIdempotencyKey(RunId runId, int step) => $"{runId.Value}:{step}";
}
