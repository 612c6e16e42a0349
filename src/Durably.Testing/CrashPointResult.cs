using Durably.Journal;
using Durably.Storage;

namespace Durably.Testing;

/// <summary>Reports what happened when a run was crashed at one point and recovered.</summary>
public sealed record CrashPointResult
{
    /// <summary>Gets the crash point.</summary>
    public required CrashPoint Point { get; init; }

    /// <summary>Gets a value indicating whether the recovered run behaved like the reference: same outcome, no duplicate effect, no non-determinism.</summary>
    public required bool Passed { get; init; }

    /// <summary>Gets the status the recovered run ended in, or <see langword="null"/> when it did not end.</summary>
    public RunStatus? Status { get; init; }

    /// <summary>Gets the recovered run's result as JSON, or its error as <c>Type: message</c>.</summary>
    public string? Outcome { get; init; }

    /// <summary>Gets a value indicating whether <see cref="Outcome"/> and <see cref="Status"/> equal the reference run's.</summary>
    public bool OutcomeMatches { get; init; }

    /// <summary>Gets the effect steps whose body ran again although their outcome was durable: effects applied twice.</summary>
    public IReadOnlyList<StepRuns> DuplicateEffects { get; init; } = [];

    /// <summary>Gets the effect steps re-run from inside their in-doubt window (expected under <see cref="InDoubtPolicy.Retry"/>: same idempotency key).</summary>
    public IReadOnlyList<StepRuns> InDoubtReruns { get; init; } = [];

    /// <summary>Gets the model steps whose body ran again although their outcome was recorded (tokens spent twice).</summary>
    public IReadOnlyList<StepRuns> RepeatedModelSteps { get; init; } = [];

    /// <summary>Gets the non-determinism the runtime detected on replay, if any.</summary>
    public NonDeterminismInfo? NonDeterminism { get; init; }

    /// <summary>Gets how long recovery took: from the new runtime's start to the run's end.</summary>
    public TimeSpan? RecoveryTime { get; init; }

    /// <summary>Gets why the point failed, in words, with hints; <see langword="null"/> when it passed.</summary>
    public string? Problem { get; init; }

    /// <summary>Gets a remark on a passing point, for example that the in-doubt policy failed the run as declared.</summary>
    public string? Note { get; init; }
}

/// <summary>Counts how often one step's body ran in a scenario.</summary>
/// <param name="Step">The step's number.</param>
/// <param name="Name">The step's name.</param>
/// <param name="Kind">The step's kind.</param>
/// <param name="IdempotencyKey">The key the body was given on every run.</param>
/// <param name="Runs">How many times the body ran, before and after the crash.</param>
public sealed record StepRuns(int Step, string Name, StepKind Kind, string IdempotencyKey, int Runs);

/// <summary>Describes a replay that asked for another step than the journal holds.</summary>
/// <param name="Step">The step number where code and journal part.</param>
/// <param name="Journaled">What the journal holds there.</param>
/// <param name="Requested">What the code asked for.</param>
/// <param name="Message">The runtime's full message.</param>
public sealed record NonDeterminismInfo(int Step, string Journaled, string Requested, string Message)
{
    internal static NonDeterminismInfo From(NonDeterminismException ex) => new(ex.Step, ex.Journaled, ex.Requested, ex.Message);
}
