namespace Durably;

// The compensations steps registered (replayed ones too), run in reverse order when the run fails or is cancelled.
// Thread-safe: parallel steps register at once.
internal sealed class CompensationStack
{
    private readonly Lock _gate = new();
    private readonly List<(string Name, Func<StepContext, Task> Action)> _registered = [];

    public void Register(string name, StepOptions options)
    {
        if (options.Compensate is { } action)
        {
            lock (_gate)
            {
                _registered.Add((name, action));
            }
        }
    }

    // The registered compensations, last registered first.
    public IReadOnlyList<(string Name, Func<StepContext, Task> Action)> InReverse()
    {
        lock (_gate)
        {
            return [.. Enumerable.Reverse(_registered)];
        }
    }
}
