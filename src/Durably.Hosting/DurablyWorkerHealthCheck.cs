using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Durably.Hosting;

// The worker is started, its claim loop alive and its last poll of the store recent (DurableRuntime.GetStatus).
// Degraded while it stops (runs in flight are being abandoned) or when its last poll failed but an earlier one is recent.
// The runtime is resolved here, not when the check is made, so that a runtime that cannot be created (its store did not
// open) is reported as the check's failure.
internal sealed class DurablyWorkerHealthCheck(IServiceProvider services, DurablyHealthCheckOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        DurableRuntime runtime;
        try
        {
            runtime = services.GetRequiredService<DurableRuntime>();
        }
        catch (Exception ex)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"The Durably worker could not be created: {ex.Message}", ex));
        }

        var status = runtime.GetStatus();
        var now = runtime.Options.TimeProvider.GetUtcNow();
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["worker"] = status.WorkerId,
            ["state"] = status.State.ToString(),
            ["activeRuns"] = status.ActiveRuns,
        };
        if (status.LastPollAt is { } polled)
        {
            data["lastPollAt"] = polled;
        }

        var worker = $"The Durably worker '{status.WorkerId}'";
        var failure = context.Registration.FailureStatus;
        var result = status.State switch
        {
            DurableRuntimeState.NotStarted => new HealthCheckResult(failure, $"{worker} has not started: the host has not started it yet, or its start failed.", data: data),
            DurableRuntimeState.Stopping => HealthCheckResult.Degraded($"{worker} is stopping: runs in flight are abandoned where they are and resume at the next start.", data: data),
            DurableRuntimeState.Stopped => new HealthCheckResult(failure, $"{worker} has stopped: no run executes here.", data: data),
            DurableRuntimeState.Faulted => new HealthCheckResult(failure, $"{worker} stopped claiming runs without being stopped. Restart the host; the logs say why.", data: data),
            _ => Running(runtime, status, now, worker, failure, data),
        };
        return Task.FromResult(result);
    }

    private HealthCheckResult Running(DurableRuntime runtime, DurableRuntimeStatus status, DateTimeOffset now, string worker, HealthStatus failure, Dictionary<string, object> data)
    {
        var maxAge = options.MaxPollAge ?? TimeSpan.FromTicks(Math.Max(runtime.Options.PollInterval.Ticks * 3, TimeSpan.FromSeconds(30).Ticks));
        var age = status.LastPollAt is { } polled ? now - polled : TimeSpan.MaxValue;
        if (age > maxAge)
        {
            var since = status.LastPollAt is { } at ? $"since {at:O}" : "yet";
            return status.LastPollError is { } error
                ? new HealthCheckResult(failure, $"{worker} has not polled the store successfully {since}: {error.Message}", error, data)
                : new HealthCheckResult(failure, $"{worker} has not polled the store {since} (it polls every {runtime.Options.PollInterval}); its loop may be stuck.", data: data);
        }

        return status.LastPollError is { } last
            ? HealthCheckResult.Degraded($"{worker} runs {status.ActiveRuns} run(s), but its last poll of the store failed: {last.Message}", last, data)
            : HealthCheckResult.Healthy($"{worker} runs {status.ActiveRuns} run(s); it last polled the store at {status.LastPollAt:O}.", data);
    }
}
