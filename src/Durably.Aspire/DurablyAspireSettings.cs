namespace Durably.Aspire;

/// <summary>Settings of the Durably Aspire integration, read from the <c>Aspire:Durably</c> configuration section and then changed by the code's <c>configure</c> delegate.</summary>
public sealed class DurablyAspireSettings
{
    /// <summary>Gets or sets the connection string; by default <c>ConnectionStrings:{connectionName}</c>, which the app host provides.</summary>
    /// <remarks>SQLite: a file path or <c>Data Source=agent.db</c>. PostgreSQL: an Npgsql connection string or a <c>postgres://</c> URL.</remarks>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets whether the store and worker health checks are left out. Default false.</summary>
    public bool DisableHealthChecks { get; set; }

    /// <summary>Gets or sets whether the <c>Durably</c> activity source is left out of OpenTelemetry tracing. Default false.</summary>
    public bool DisableTracing { get; set; }

    /// <summary>Gets or sets whether the <c>Durably</c> meter is left out of OpenTelemetry metrics. Default false.</summary>
    public bool DisableMetrics { get; set; }
}
