namespace Aspire.Hosting.ApplicationModel;

/// <summary>The Durably dashboard (<c>durably serve</c>) of a journal, run as an executable with an HTTP endpoint.</summary>
/// <param name="name">The name of the resource.</param>
/// <param name="command">The command that runs the Durably CLI (<c>durably</c>, <c>dotnet</c>, or a path).</param>
/// <param name="workingDirectory">The working directory of the command.</param>
/// <param name="journal">The journal it shows.</param>
public sealed class DurablyDashboardResource(string name, string command, string workingDirectory, DurablyJournalResource journal)
    : ExecutableResource(name, command, workingDirectory)
{
    /// <summary>The name of the dashboard's HTTP endpoint: <c>"http"</c>.</summary>
    public const string HttpEndpointName = "http";

    private EndpointReference? _httpEndpoint;

    /// <summary>The journal the dashboard shows.</summary>
    public DurablyJournalResource Journal { get; } = journal ?? throw new ArgumentNullException(nameof(journal));

    /// <summary>The dashboard's HTTP endpoint; the port it listens on is the endpoint's target port.</summary>
    public EndpointReference HttpEndpoint => _httpEndpoint ??= new(this, HttpEndpointName);
}
