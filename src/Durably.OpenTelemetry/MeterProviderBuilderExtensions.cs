using Durably;

namespace OpenTelemetry.Metrics;

/// <summary>Adds Durably's metrics to an OpenTelemetry meter provider.</summary>
public static class MeterProviderBuilderExtensions
{
    /// <summary>Subscribes to Durably's meter: steps executed and replayed, retries, in-doubt effects, tokens used and saved by model, journal commit latency and run duration.</summary>
    /// <remarks>See <see cref="DurablyTelemetry"/> for the instruments and their attributes.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static MeterProviderBuilder AddDurablyInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(DurablyTelemetry.Name);
    }
}
