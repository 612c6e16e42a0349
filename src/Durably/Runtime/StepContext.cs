using Durably.Journal;
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

    /// <summary>Records part of what the step has produced so far (for example a text delta of a streaming model call), so that
    /// watchers of the run see it while the step runs (<see cref="DurableClient.WatchAsync(RunId, string?, CancellationToken)"/>).</summary>
    /// <param name="text">The text produced since the previous call.</param>
    /// <remarks>
    /// <para>Deltas are coalesced and journaled as <see cref="Journal.StepProgress"/> entries, at most one per
    /// <see cref="ProgressInterval"/> or every <see cref="ProgressFlushChars"/> characters, through the run's fenced
    /// writer, so group commit batches them with other writes. The first such entry journals the step's intent with it,
    /// so watchers see the step start before its progress. The call does not wait for the write.</para>
    /// <para>Informational: replay ignores progress and returns the step's recorded result. Nothing is journaled for a
    /// step its checkpoint policy does not journal, or after the step's body has returned. Thread-safe.</para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public void ReportProgress(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_progressRun is null)
        {
            return;
        }

        if (Volatile.Read(ref _progress) is not { } writer)
        {
            Interlocked.CompareExchange(ref _progress, new StepProgressWriter(_progressRun, _progressIntent!, _progressIntentJournaled), null);
            writer = _progress!;
        }

        // The step's outcome closes progress; a report that loses that race is dropped, never written after the outcome.
        if (Interlocked.CompareExchange(ref _progressClosed, 0, 0) == 0)
        {
            writer.Report(text);
        }
    }

    /// <summary>Gets the longest time progress reported with <see cref="ReportProgress"/> waits before it is journaled, if more arrives: 100 milliseconds.</summary>
    public static TimeSpan ProgressInterval { get; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Gets how many characters of pending progress are journaled at once, without waiting for <see cref="ProgressInterval"/>: 4,096.</summary>
    public static int ProgressFlushChars => 4096;

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

    // Set by the step runner for a journaled step: where progress goes, and the intent its first write carries.
    private Activation? _progressRun;
    private StepStarted? _progressIntent;
    private bool _progressIntentJournaled;
    private StepProgressWriter? _progress;
    private int _progressClosed;

    internal void EnableProgress(Activation run, StepStarted intent, bool intentJournaled)
    {
        _progressRun = run;
        _progressIntent = intent;
        _progressIntentJournaled = intentJournaled;
    }

    // Ends progress reporting for the attempt; null when the body reported none.
    internal StepProgressWriter? CloseProgress()
    {
        if (_progressRun is null)
        {
            return null;
        }

        Interlocked.Exchange(ref _progressClosed, 1);
        return Interlocked.CompareExchange(ref _progress, null, null);
    }

    internal static string MakeIdempotencyKey(RunId runId, int step) => $"{runId.Value}:{step}";
}
