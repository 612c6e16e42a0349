namespace Durably.Hosting;

/// <summary>Configures the health checks that <c>AddDurably().AddHealthChecks()</c> registers.</summary>
public sealed class DurablyHealthCheckOptions
{
    /// <summary>Gets the name of the store's check. Default <c>"durably-store"</c>.</summary>
    public string StoreCheckName { get; init; } = "durably-store";

    /// <summary>Gets the name of the worker's check. Default <c>"durably-worker"</c>.</summary>
    public string WorkerCheckName { get; init; } = "durably-worker";

    /// <summary>Gets the tags of both checks, to select them in a health endpoint (<c>MapHealthChecks("/ready", new() { Predicate = c => c.Tags.Contains("durably") })</c>). Default <c>["durably"]</c>.</summary>
    public IReadOnlyList<string> Tags { get; init; } = ["durably"];

    /// <summary>Gets how long ago the worker's last successful poll of the store may be before the worker is reported unhealthy.</summary>
    /// <remarks>Default null: three <see cref="DurableRuntimeOptions.PollInterval"/>s, and at least 30 seconds, so that a loaded
    /// machine is not reported unhealthy for one slow poll.</remarks>
    public TimeSpan? MaxPollAge { get; init; }

    /// <summary>Gets how long one check may take before it is reported as failed. Default 10 seconds.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
}
