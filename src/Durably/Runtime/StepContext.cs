using Microsoft.Extensions.Logging;

namespace Durably;

/// <summary>Carries what a step body needs to act safely: its idempotency key, attempt, fencing token and cancellation.</summary>
public sealed class StepContext
{
    internal StepContext(RunId runId, int step, string name, int attempt, long fencingToken, ILogger logger, CancellationToken cancellationToken)
    {
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

    /// <summary>Gets a token that is cancelled when the run is cancelled or the runtime stops.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Records the tokens a model call used, so the step's outcome entry carries them (for accounting and replay savings).</summary>
    public void ReportUsage(TokenUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ReportedUsage = usage;
    }

    internal TokenUsage? ReportedUsage { get; private set; }

    internal static string MakeIdempotencyKey(RunId runId, int step) => $"{runId.Value}:{step}";
}
