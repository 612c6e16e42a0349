namespace Durably;

/// <summary>Configures a child run started with <see cref="RunContext.RunChildAsync{TInput, TResult}(string, TInput, ChildRunOptions?)"/>.</summary>
public sealed record ChildRunOptions
{
    /// <summary>Gets the name of the parent's step that runs the child; on replay it must match the journal. Default: the child's workflow name.</summary>
    public string? Name { get; init; }
}
