using Microsoft.Extensions.Hosting;

namespace Durably.Hosting;

/// <summary>Starts the <see cref="DurableRuntime"/> with the host (recovering unfinished runs) and stops it with the host.</summary>
/// <remarks>On stop, runs in flight are abandoned where they are; their journals say how far they got and the next start resumes them.</remarks>
public sealed class DurablyHostedService(DurableRuntime runtime) : IHostedService
{
    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken) => runtime.StartAsync(cancellationToken);

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => runtime.StopAsync();
}
