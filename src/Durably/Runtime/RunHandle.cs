using Durably.Storage;

namespace Durably;

/// <summary>Refers to a run: wait for its result, read its status, signal or cancel it.</summary>
public sealed class RunHandle
{
    private readonly DurableRuntime _runtime;

    internal RunHandle(DurableRuntime runtime, RunId runId, bool isNew)
    {
        _runtime = runtime;
        RunId = runId;
        IsNew = isNew;
    }

    /// <summary>Gets the run's id.</summary>
    public RunId RunId { get; }

    /// <summary>Gets a value indicating whether this call started the run (false when the id existed already).</summary>
    public bool IsNew { get; }

    /// <inheritdoc cref="DurableRuntime.GetResultAsync{TResult}(RunId, CancellationToken)"/>
    public Task<TResult> GetResultAsync<TResult>(CancellationToken cancellationToken = default) => _runtime.GetResultAsync<TResult>(RunId, cancellationToken);

    /// <summary>Reads the run's current status from the store.</summary>
    public async Task<RunRecord> GetStatusAsync(CancellationToken cancellationToken = default)
        => await _runtime.Store.GetRunAsync(RunId, cancellationToken).ConfigureAwait(false) ?? throw new RunNotFoundException(RunId);
}
