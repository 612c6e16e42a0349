using Durably.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Durably.Hosting;

// The store can be read now: IJournalStoreHealth where the store has it (it also knows a writer stopped after a failed
// sync, a deleted file, an unreachable server), otherwise a lookup of one run id. The store is resolved here, not when
// the check is made, so that a store that failed to open is reported as the check's failure.
internal sealed class DurablyStoreHealthCheck(IServiceProvider services) : IHealthCheck
{
    private static readonly RunId Probe = new("durably-health-probe");

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        string? storeType = null;
        try
        {
            var store = services.GetRequiredService<IJournalStore>();
            storeType = store.GetType().Name;
            if (store is IJournalStoreHealth health)
            {
                await health.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await store.GetRunAsync(Probe, cancellationToken).ConfigureAwait(false);
            }

            return HealthCheckResult.Healthy($"The journal store ({storeType}) answers.", Data(storeType, null));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var location = (ex as JournalStoreException)?.StoreLocation;
            return new HealthCheckResult(context.Registration.FailureStatus,
                $"The journal store{(storeType is null ? "" : $" ({storeType})")} failed: {ex.Message}", ex, Data(storeType, location));
        }
    }

    private static Dictionary<string, object> Data(string? storeType, string? location)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        if (storeType is not null)
        {
            data["store"] = storeType;
        }

        if (location is not null)
        {
            data["location"] = location;
        }

        return data;
    }
}
