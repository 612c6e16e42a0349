using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Durably.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Durably.Aspire.Hosting.Tests;

// The app model that AddDurablySqliteJournal, AddDurablyPostgresJournal and WithDashboard build, inspected without Aspire's
// orchestrator: connection strings, the environment and arguments a referencing service and the dashboard get, and the
// dashboard command really run.
public sealed class AspireHostingTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-aspire-hosting-" + Guid.NewGuid().ToString("N"));

    public AspireHostingTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private IDistributedApplicationBuilder NewBuilder()
        => DistributedApplication.CreateBuilder(new DistributedApplicationOptions { Args = [], ProjectDirectory = _folder, DisableDashboard = true });

    [Fact]
    public async Task AddDurablySqliteJournal_RelativePath_ConnectionStringIsTheAbsolutePathUnderTheAppHostDirectory()
    {
        var builder = NewBuilder();
        Assert.Equal(Path.GetFullPath(_folder), Path.GetFullPath(builder.AppHostDirectory));

        var journal = builder.AddDurablySqliteJournal("durably", Path.Combine("data", "agent.db"));

        var expected = Path.Combine(builder.AppHostDirectory, "data", "agent.db");
        Assert.True(Path.IsPathFullyQualified(expected));
        Assert.Equal(DurablyJournalKind.Sqlite, journal.Resource.Kind);
        Assert.Equal(expected, journal.Resource.Path);
        Assert.Null(journal.Resource.Database);
        Assert.Equal(expected, await journal.Resource.ConnectionStringExpression.GetValueAsync(CancellationToken.None));
        Assert.Equal(expected, await ((IResourceWithConnectionString)journal.Resource).GetConnectionStringAsync());
        Assert.Same(journal.Resource, Assert.Single(builder.Resources.OfType<DurablyJournalResource>()));
    }

    [Fact]
    public async Task AddDurablySqliteJournal_AbsolutePathWithBraces_IsKeptAsItIs()
    {
        var builder = NewBuilder();
        var path = Path.Combine(_folder, "odd {name}", "agent.db");

        var journal = builder.AddDurablySqliteJournal("durably", path);

        Assert.Equal(path, await journal.Resource.ConnectionStringExpression.GetValueAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AddDurablyPostgresJournal_ConnectionStringResource_IsTheDatabasesConnectionStringAndWaitsForIt()
    {
        const string Connection = "Host=db.internal;Port=5432;Database=journal;Username=agent;Password=secret";
        var builder = NewBuilder();
        builder.Configuration["ConnectionStrings:pg"] = Connection;
        var pg = builder.AddConnectionString("pg");

        var journal = builder.AddDurablyPostgresJournal("durably", pg);

        Assert.Equal(DurablyJournalKind.Postgres, journal.Resource.Kind);
        Assert.Same(pg.Resource, journal.Resource.Database);
        Assert.Null(journal.Resource.Path);
        Assert.Equal(Connection, await journal.Resource.ConnectionStringExpression.GetValueAsync(CancellationToken.None));
        var wait = Assert.Single(journal.Resource.Annotations.OfType<WaitAnnotation>());
        Assert.Same(pg.Resource, wait.Resource);
        Assert.Equal(WaitType.WaitUntilHealthy, wait.WaitType);
        Assert.Contains(journal.Resource.Annotations.OfType<ResourceRelationshipAnnotation>(), r => r.Resource == pg.Resource && r.Type == "Parent");
    }

    [Fact]
    public async Task WithReference_SqliteJournal_ServiceGetsConnectionStringsDurablyWithTheAbsolutePath()
    {
        var builder = NewBuilder();
        var journal = builder.AddDurablySqliteJournal("durably", "agent.db");
        var worker = builder.AddExecutable("worker", "dotnet", _folder, "Worker.dll").WithReference(journal);

        var (_, environment) = await ResolveAsync(worker.Resource);

        Assert.Equal(Path.Combine(builder.AppHostDirectory, "agent.db"), environment["ConnectionStrings__durably"]);
    }

    [Fact]
    public async Task WithReference_PostgresJournal_ServiceGetsConnectionStringsDurablyWithTheDatabasesConnectionString()
    {
        const string Connection = "Host=localhost;Database=journal;Username=agent;Password=p@ss";
        var builder = NewBuilder();
        builder.Configuration["ConnectionStrings:pg"] = Connection;
        var journal = builder.AddDurablyPostgresJournal("durably", builder.AddConnectionString("pg"));
        var worker = builder.AddExecutable("worker", "dotnet", _folder, "Worker.dll").WithReference(journal);

        var (_, environment) = await ResolveAsync(worker.Resource);

        Assert.Equal(Connection, environment["ConnectionStrings__durably"]);
        Assert.False(environment.ContainsKey("ConnectionStrings__pg"), "Only the journal's connection string is handed on, under the journal's name.");
    }

    [Fact]
    public async Task WithDashboard_Defaults_RunsDurablyServeOnTheAllocatedPortWithTheStoreInTheEnvironment()
    {
        var builder = NewBuilder();
        var journal = builder.AddDurablySqliteJournal("durably", "agent.db").WithDashboard();

        var dashboard = Assert.Single(builder.Resources.OfType<DurablyDashboardResource>());
        Assert.Equal("durably-dashboard", dashboard.Name);
        Assert.Equal("durably", dashboard.Command);
        Assert.Equal(builder.AppHostDirectory, dashboard.WorkingDirectory);
        Assert.Same(journal.Resource, dashboard.Journal);
        var endpoint = Assert.Single(dashboard.Annotations.OfType<EndpointAnnotation>());
        Assert.Equal(("http", "http"), (endpoint.Name, endpoint.UriScheme));
        Assert.Null(endpoint.Port);
        Assert.Null(endpoint.TargetPort);
        Assert.Contains(dashboard.Annotations.OfType<WaitAnnotation>(), w => w.Resource == journal.Resource);
        Assert.Contains(dashboard.Annotations, a => a is ManifestPublishingCallbackAnnotation);

        var port = Allocate(dashboard, 47113);
        var (args, environment) = await ResolveAsync(dashboard);

        Assert.Equal(["serve", "--urls", $"http://127.0.0.1:{port}"], args);
        Assert.Equal(Path.Combine(builder.AppHostDirectory, "agent.db"), environment["DURABLY_STORE"]);
    }

    [Fact]
    public async Task WithDashboard_LocalToolTokenFileAndPort_ArePassedOn()
    {
        const string Connection = "Host=localhost;Database=journal;Username=agent;Password=secret";
        var builder = NewBuilder();
        builder.Configuration["ConnectionStrings:pg"] = Connection;
        var configured = false;
        builder.AddDurablyPostgresJournal("journal", builder.AddConnectionString("pg"))
            .WithDashboard(command: "dotnet", commandArgs: ["durably"], tokenFile: "tokens.json", port: 5090, configure: d => configured = d.Resource.Name == "journal-dashboard");

        var dashboard = Assert.Single(builder.Resources.OfType<DurablyDashboardResource>());
        Assert.True(configured);
        Assert.Equal("dotnet", dashboard.Command);
        Assert.Equal(5090, Assert.Single(dashboard.Annotations.OfType<EndpointAnnotation>()).Port);
        var port = Allocate(dashboard, 40001);
        var (args, environment) = await ResolveAsync(dashboard);

        Assert.Equal(["durably", "serve", "--urls", $"http://127.0.0.1:{port}", "--token-file", Path.Combine(builder.AppHostDirectory, "tokens.json")], args);
        Assert.Equal(Connection, environment["DURABLY_STORE"]);
    }

    [Fact]
    public void BadInput_ThrowsWithTheParameterAndAClearMessage()
    {
        var builder = NewBuilder();

        Assert.Equal("name", Assert.ThrowsAny<ArgumentException>(() => builder.AddDurablySqliteJournal("", "agent.db")).ParamName);
        Assert.Equal("name", Assert.ThrowsAny<ArgumentException>(() => builder.AddDurablySqliteJournal("  ", "agent.db")).ParamName);
        var path = Assert.ThrowsAny<ArgumentException>(() => builder.AddDurablySqliteJournal("durably", " "));
        Assert.Equal("path", path.ParamName);
        Assert.Contains("path of its file", path.Message, StringComparison.Ordinal);
        Assert.Equal("path", Assert.ThrowsAny<ArgumentException>(() => builder.AddDurablySqliteJournal("durably", null!)).ParamName);
        Assert.Equal("database", Assert.Throws<ArgumentNullException>(() => builder.AddDurablyPostgresJournal("durably", null!)).ParamName);
        Assert.Equal("name", Assert.ThrowsAny<ArgumentException>(() => builder.AddDurablyPostgresJournal("", builder.AddConnectionString("pg"))).ParamName);

        var journal = builder.AddDurablySqliteJournal("durably", "agent.db");
        var command = Assert.Throws<ArgumentException>(() => journal.WithDashboard(command: ""));
        Assert.Equal("command", command.ParamName);
        Assert.Contains("Durably CLI", command.Message, StringComparison.Ordinal);
        Assert.Equal("tokenFile", Assert.Throws<ArgumentException>(() => journal.WithDashboard(tokenFile: " ")).ParamName);
        Assert.Equal("commandArgs", Assert.Throws<ArgumentException>(() => journal.WithDashboard(commandArgs: [""])).ParamName);
        Assert.Empty(builder.Resources.OfType<DurablyDashboardResource>());
    }

    [Fact]
    public async Task WithDashboard_TheCommandTheModelDescribes_ServesTheJournalsRuns()
    {
        var path = Path.Combine(_folder, "agent.db");
        RunId runId;
        await using (var store = await SqliteJournalStore.OpenAsync(path))
        {
            runId = (await new DurableClient(store).StartAsync("work", 1)).RunId;
        }

        var builder = NewBuilder();
        // The CLI the tests build stands in for the installed tool: `dotnet <Durably.Cli.dll> serve ...`.
        builder.AddDurablySqliteJournal("durably", "agent.db").WithDashboard(command: "dotnet", commandArgs: [Path.Combine(AppContext.BaseDirectory, "Durably.Cli.dll")]);
        var dashboard = Assert.Single(builder.Resources.OfType<DurablyDashboardResource>());
        var port = Allocate(dashboard, FreePort());
        var (args, environment) = await ResolveAsync(dashboard);

        var info = new ProcessStartInfo(dashboard.Command)
        {
            WorkingDirectory = dashboard.WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Remove("DURABLY_STORE");
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the dashboard.");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
            var body = await GetWhenListeningAsync(http, "api/runs", process, output);

            using var list = JsonDocument.Parse(body);
            var run = Assert.Single(list.RootElement.GetProperty("runs").EnumerateArray());
            Assert.Equal(runId.ToString(), run.GetProperty("runId").GetString());
            Assert.Equal("work", run.GetProperty("workflow").GetString());
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
        }
    }

    // The arguments and environment Aspire gives the process at start (as its orchestrator gathers them).
    private static async Task<(string[] Args, Dictionary<string, string> Environment)> ResolveAsync(IResource resource)
    {
        var result = await ExecutionConfigurationBuilder.Create(resource).WithArgumentsConfig().WithEnvironmentVariablesConfig()
            .BuildAsync(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Run), NullLogger.Instance, CancellationToken.None);
        Assert.Null(result.Exception);
        return (result.Arguments.Select(a => a.Value).ToArray(), result.EnvironmentVariables.ToDictionary(e => e.Key, e => e.Value));
    }

    // What Aspire's orchestrator does at start: allocates the endpoint, the process listening on the target port.
    private static int Allocate(DurablyDashboardResource dashboard, int targetPort)
    {
        var endpoint = Assert.Single(dashboard.Annotations.OfType<EndpointAnnotation>());
        endpoint.AllocatedEndpoint = new AllocatedEndpoint(endpoint, "localhost", endpoint.Port ?? targetPort + 1, targetPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return targetPort;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // Polls until the dashboard answers (a refused connection means it is not listening yet), up to a deadline.
    private static async Task<string> GetWhenListeningAsync(HttpClient http, string path, Process process, StringBuilder output)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(path);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}");
                return body;
            }
            catch (HttpRequestException ex) when (ex.InnerException is SocketException)
            {
                string printed;
                lock (output)
                {
                    printed = output.ToString();
                }

                Assert.False(process.HasExited, $"The dashboard exited ({(process.HasExited ? process.ExitCode : 0)}) before it answered:\n{printed}");
                Assert.True(DateTime.UtcNow < deadline, $"The dashboard did not answer within 60 s:\n{printed}");
                await Task.Delay(100);
            }
        }
    }
}
