namespace Durably;

/// <summary>Configures a registered workflow.</summary>
public sealed record WorkflowOptions
{
    /// <summary>Gets the workflow's code version, recorded when a run starts. Default 1.</summary>
    public int Version { get; init; } = 1;

    /// <summary>Gets the change ids this code knows; recorded when a run starts, so <see cref="RunContext.IsPatched(string)"/> is true only for runs started by code that has the change.</summary>
    public IReadOnlyList<string> Patches { get; init; } = [];

    /// <summary>Gets the checkpoint policy for this workflow; the runtime's when <see langword="null"/>.</summary>
    public CheckpointPolicy? Checkpoint { get; init; }
}
