using Durably.Inspection;
using Durably.Storage;

namespace Durably;

/// <summary>Refers to a run through the <see cref="DurableClient"/> that made it: wait for its result, read its status or timeline.</summary>
/// <remarks>A handle holds no state besides the run id: any number of handles to one run may exist, in any process.</remarks>
public class RunHandle
{
    internal RunHandle(DurableClient client, RunId runId, bool isNew)
    {
        Client = client;
        RunId = runId;
        IsNew = isNew;
    }

    /// <summary>Gets the run's id.</summary>
    public RunId RunId { get; }

    /// <summary>Gets a value indicating whether this call started the run (false when the id existed already).</summary>
    public bool IsNew { get; }

    /// <summary>Gets a value indicating whether the start was debounced (<see cref="StartRunOptions.Debounce"/>): no run was started, and this handle refers to the run of the same queue and key that started within the window.</summary>
    public bool IsDebounced { get; internal init; }

    /// <summary>Gets the client the handle works through; signal, approve or cancel the run with it.</summary>
    public DurableClient Client { get; }

    /// <inheritdoc cref="DurableClient.GetResultAsync{TResult}(RunId, CancellationToken)"/>
    public Task<TResult> GetResultAsync<TResult>(CancellationToken cancellationToken = default) => Client.GetResultAsync<TResult>(RunId, cancellationToken);

    /// <inheritdoc cref="DurableClient.GetStatusAsync(RunId, CancellationToken)"/>
    public Task<RunRecord> GetStatusAsync(CancellationToken cancellationToken = default) => Client.GetStatusAsync(RunId, cancellationToken);

    /// <inheritdoc cref="DurableClient.WatchAsync(RunId, string?, CancellationToken)"/>
    public IAsyncEnumerable<RunEvent> WatchAsync(string? fromCursor = null, CancellationToken cancellationToken = default) => Client.WatchAsync(RunId, fromCursor, cancellationToken);

    /// <inheritdoc cref="DurableClient.GetTimelineAsync(RunId, CancellationToken)"/>
    public Task<RunTimeline> GetTimelineAsync(CancellationToken cancellationToken = default) => Client.GetTimelineAsync(RunId, cancellationToken);
}

/// <summary>Refers to a run whose result type is known, as started by <see cref="DurableClient.StartAsync{TWorkflow, TInput, TResult}(TInput, StartRunOptions?, CancellationToken)"/>.</summary>
/// <typeparam name="TResult">The run's result.</typeparam>
public sealed class RunHandle<TResult> : RunHandle
{
    internal RunHandle(DurableClient client, RunId runId, bool isNew)
        : base(client, runId, isNew)
    {
    }

    /// <inheritdoc cref="DurableClient.GetResultAsync{TResult}(RunId, CancellationToken)"/>
    public Task<TResult> GetResultAsync(CancellationToken cancellationToken = default) => Client.GetResultAsync<TResult>(RunId, cancellationToken);
}
