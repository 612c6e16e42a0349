namespace Durably.Testing;

/// <summary>Describes a wait a run is suspended at during a crash test: a signal or an approval gate.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Step">The wait step's number.</param>
/// <param name="Name">The signal name the run waits for (for an approval gate: <c>approval:{gate}</c>).</param>
/// <param name="Gate">The approval gate's name, or <see langword="null"/> for a plain signal.</param>
public sealed record SignalWait(RunId RunId, int Step, string Name, string? Gate);

/// <summary>Describes an effect step left in doubt under <see cref="InDoubtPolicy.AskHuman"/>, waiting for a person.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Step">The effect step's number.</param>
/// <param name="Name">The effect step's name.</param>
public sealed record InDoubtRequest(RunId RunId, int Step, string Name);

/// <summary>Is the crash tester's answer to a wait: a signal with a value, or an approval decision.</summary>
public sealed class SignalReply
{
    private readonly Func<DurableRuntime, SignalWait, Task> _deliver;

    private SignalReply(Func<DurableRuntime, SignalWait, Task> deliver)
    {
        _deliver = deliver;
    }

    /// <summary>Delivers a signal with <paramref name="value"/> as its payload.</summary>
    public static SignalReply Send<T>(T value, string? sender = "crash-tester")
        => new((runtime, wait) => runtime.Client.SignalAsync(new SignalRequest(wait.RunId, wait.Name) { Payload = value, Sender = sender }));

    /// <summary>Approves the gate the run waits at.</summary>
    public static SignalReply Approve(string? comment = null, string approver = "crash-tester")
        => new((runtime, wait) => runtime.Client.ApproveAsync(new ApprovalRequest(wait.RunId, Gate(wait), approver) { Comment = comment }));

    /// <summary>Rejects at the gate the run waits at.</summary>
    public static SignalReply Reject(string? comment = null, string approver = "crash-tester")
        => new((runtime, wait) => runtime.Client.ApproveAsync(new ApprovalRequest(wait.RunId, Gate(wait), approver) { Approved = false, Comment = comment }));

    internal Task DeliverAsync(DurableRuntime runtime, SignalWait wait) => _deliver(runtime, wait);

    private static string Gate(SignalWait wait)
        => wait.Gate ?? throw new InvalidOperationException($"Step {wait.Step} waits for the signal '{wait.Name}', not at an approval gate; answer it with SignalReply.Send.");
}
