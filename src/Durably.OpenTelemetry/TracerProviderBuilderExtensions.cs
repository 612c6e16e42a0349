using Durably;

namespace OpenTelemetry.Trace;

/// <summary>Adds Durably's spans to an OpenTelemetry tracer provider.</summary>
public static class TracerProviderBuilderExtensions
{
    /// <summary>Subscribes to Durably's activity source: a <c>durably.run</c> span per activation and a span per step under it, model and tool steps named and tagged in the OpenTelemetry GenAI conventions.</summary>
    /// <remarks>See <see cref="DurablyTelemetry"/> for the span names and attributes. Replayed steps are tagged <c>durably.replayed=true</c> and carry no <c>gen_ai.usage.*</c>.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static TracerProviderBuilder AddDurablyInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(DurablyTelemetry.Name);
    }
}
