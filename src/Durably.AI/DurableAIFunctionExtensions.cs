using Microsoft.Extensions.AI;

namespace Durably.AI;

/// <summary>Makes <see cref="AIFunction"/> tools durable.</summary>
public static class DurableAIFunctionExtensions
{
    /// <summary>Wraps a function so that its invocations inside a Durably run are journaled steps (see <see cref="DurableAIFunction"/>).</summary>
    /// <param name="function">The tool.</param>
    /// <param name="options">The in-doubt policy, retries and step name; an effect step whose in-doubt policy is <see cref="InDoubtPolicy.AskHuman"/> when <see langword="null"/>.</param>
    /// <returns>The durable tool, or <paramref name="function"/> itself when it is durable already.</returns>
    public static AIFunction AsDurable(this AIFunction function, DurableToolOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        return function is DurableAIFunction && options is null ? function : new DurableAIFunction(function, options);
    }
}
