using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>Adds Durably to a host application builder, configured from its configuration.</summary>
public static class DurablyHostApplicationBuilderExtensions
{
    /// <summary>Adds Durably with the runtime options and the store read from the builder's configuration section <paramref name="sectionName"/> (appsettings.json, environment variables such as <c>Durably__LeaseDuration</c>, command-line arguments).</summary>
    /// <remarks>The same as <c>builder.Services.AddDurably(builder.Configuration.GetSection(sectionName))</c>; see
    /// <see cref="DurablyServiceCollectionExtensions.AddDurably(IServiceCollection, Configuration.IConfiguration)"/> for the keys.</remarks>
    /// <param name="builder">The host application builder.</param>
    /// <param name="sectionName">The configuration section. Default <c>"Durably"</c>.</param>
    /// <returns>A builder to register workflows, add health checks, and choose or replace the store in code.</returns>
    public static DurablyBuilder AddDurably(this IHostApplicationBuilder builder, string sectionName = "Durably")
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(sectionName);
        return builder.Services.AddDurably(builder.Configuration.GetSection(sectionName));
    }
}
