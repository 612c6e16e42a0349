namespace Durably;

/// <summary>Is the class form of a workflow: deterministic code that drives durable steps through its <see cref="RunContext"/>.</summary>
/// <typeparam name="TInput">The run's input.</typeparam>
/// <typeparam name="TResult">The run's result.</typeparam>
/// <remarks>A new instance is created for every execution (start or resumption), so fields never carry state across a crash.</remarks>
public abstract class Workflow<TInput, TResult>
{
    /// <summary>Gets the name the workflow is registered under. Default: the class name.</summary>
    public virtual string Name => GetType().Name;

    /// <summary>Gets the workflow's options.</summary>
    public virtual WorkflowOptions Options => new();

    /// <summary>Runs the workflow; re-executed from the top on recovery, with completed steps replayed from the journal.</summary>
    public abstract Task<TResult> RunAsync(RunContext context, TInput input);
}
