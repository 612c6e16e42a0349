using Durably.Codecs;

namespace Durably;

/// <summary>Configures a <see cref="DurableClient"/>.</summary>
public sealed class DurableClientOptions
{
    /// <summary>Gets the codec for inputs, results and signal payloads; it must match the workers'. Default <see cref="JsonPayloadCodec.Default"/>.</summary>
    public IPayloadCodec Codec { get; init; } = JsonPayloadCodec.Default;

    /// <summary>Gets the clock that timestamps started and forked runs and paces polling. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Gets how often <see cref="DurableClient.GetResultAsync{TResult}(RunId, CancellationToken)"/> first reads a run that another process executes; it backs off to 30 times this. Default 1 second.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets how often <see cref="DurableClient.WatchAsync(RunId, string?, CancellationToken)"/> looks for new entries of a run that another process executes, while entries come; it backs off to 10 times this while the run is quiet. Default 100 milliseconds.</summary>
    /// <remarks>A look is one read of the run's index record. The watchers of a run that this client's own runtime executes are woken by its writes and do not wait for the poll.</remarks>
    public TimeSpan WatchPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);
}
