namespace Durably;

/// <summary>Configures the start of a run.</summary>
public sealed record StartRunOptions
{
    /// <summary>Gets the run id; a new one when <see langword="null"/>. Starting an id that exists returns the existing run.</summary>
    public RunId? RunId { get; init; }
}
