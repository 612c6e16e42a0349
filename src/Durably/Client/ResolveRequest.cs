namespace Durably;

/// <summary>Asks <see cref="DurableClient.ResolveInDoubtAsync(ResolveRequest, CancellationToken)"/> to resolve an effect step left in doubt under <see cref="InDoubtPolicy.AskHuman"/>.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Step">The number of the step in doubt (see <see cref="Inspection.StepTimeline.State"/>).</param>
/// <param name="Resolution">What happened: <see cref="InDoubtResolution.Done"/> with the step's result, <see cref="InDoubtResolution.Retry"/> or <see cref="InDoubtResolution.Abort"/>.</param>
/// <param name="ResolvedBy">Who resolves the step; journaled with the resolution.</param>
public sealed record ResolveRequest(RunId RunId, int Step, InDoubtResolution Resolution, string ResolvedBy);
