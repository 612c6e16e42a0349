using Aspire.Hosting.ApplicationModel;

namespace Aspire.Hosting;

/// <summary>Adds Durably journals and the Durably dashboard to an Aspire app host.</summary>
public static class DurablyHostingExtensions
{
    /// <summary>Adds a Durably journal kept in a SQLite file.</summary>
    /// <remarks>A service that references it (<c>.WithReference(journal)</c>) gets <c>ConnectionStrings__{name}</c> set to the
    /// file's absolute path, which <c>builder.AddDurablySqlite(name)</c> (Durably.Aspire) reads. The file and its folder are
    /// created by the first store that opens it.</remarks>
    /// <param name="builder">The app host builder.</param>
    /// <param name="name">The name of the resource, and of the connection string the services read.</param>
    /// <param name="path">The SQLite file; a relative path is taken from the app host's directory.</param>
    /// <returns>A builder for the journal resource.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> or <paramref name="path"/> is empty.</exception>
    public static IResourceBuilder<DurablyJournalResource> AddDurablySqliteJournal(this IDistributedApplicationBuilder builder, [ResourceName] string name, string path)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException("The SQLite journal needs the path of its file, for example \"agent.db\" (relative to the app host's directory) or an absolute path.", nameof(path));
        }

        var absolute = System.IO.Path.GetFullPath(path, builder.AppHostDirectory);
        return AddJournal(builder, DurablyJournalResource.ForSqlite(name, absolute));
    }

    /// <summary>Adds a Durably journal kept in a PostgreSQL database.</summary>
    /// <remarks>Takes any resource with a connection string: an Aspire.Hosting.PostgreSQL database
    /// (<c>builder.AddPostgres("pg").AddDatabase("journaldb")</c>), or <c>builder.AddConnectionString("pg")</c> for an
    /// existing server. The journal waits for the database (it is running when the database is healthy) and is shown as
    /// its child. A service that references the journal gets <c>ConnectionStrings__{name}</c> with the database's
    /// connection string, which <c>builder.AddDurablyPostgres(name)</c> (Durably.Aspire) reads; the schema is created at
    /// the service's first start.</remarks>
    /// <param name="builder">The app host builder.</param>
    /// <param name="name">The name of the resource, and of the connection string the services read.</param>
    /// <param name="database">The database the journal is kept in.</param>
    /// <returns>A builder for the journal resource.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="database"/> is <see langword="null"/>.</exception>
    public static IResourceBuilder<DurablyJournalResource> AddDurablyPostgresJournal(this IDistributedApplicationBuilder builder, [ResourceName] string name,
        IResourceBuilder<IResourceWithConnectionString> database)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(database, nameof(database));
        return AddJournal(builder, DurablyJournalResource.ForPostgres(name, database.Resource))
            .WaitFor(database)
            .WithParentRelationship(database);
    }

    /// <summary>Adds the Durably dashboard of the journal: an executable resource <c>{name}-dashboard</c> that runs
    /// <c>durably serve --urls http://127.0.0.1:{port}</c> with <c>DURABLY_STORE</c> set to the journal's connection string.</summary>
    /// <remarks>
    /// <para>The port is the target port of the resource's <c>http</c> endpoint, which Aspire allocates (or
    /// <paramref name="port"/> fixes the endpoint's port). The dashboard waits for the journal, runs in the app host's
    /// directory and is left out of the deployment manifest: it is a development tool.</para>
    /// <para>By default the command is <c>durably</c>, the Durably.Cli dotnet tool installed globally
    /// (<c>dotnet tool install -g Durably.Cli</c>). For a local tool pass <paramref name="command"/> <c>"dotnet"</c> and
    /// <paramref name="commandArgs"/> <c>["durably"]</c>; a path to the tool's executable works too.</para>
    /// <para>Without <paramref name="tokenFile"/> the dashboard is read-only; with it, the tokens of the file may approve,
    /// reject, signal and resolve (<c>durably tokens add</c> writes the file).</para>
    /// </remarks>
    /// <param name="builder">The journal.</param>
    /// <param name="command">The command that runs the Durably CLI. Default <c>"durably"</c>.</param>
    /// <param name="commandArgs">Arguments before <c>serve</c>, such as <c>["durably"]</c> when the command is <c>dotnet</c>.</param>
    /// <param name="tokenFile">The dashboard's <c>--token-file</c>; a relative path is taken from the app host's directory.</param>
    /// <param name="port">The endpoint's port; <see langword="null"/> lets Aspire choose.</param>
    /// <param name="configure">Changes the dashboard resource further.</param>
    /// <returns>The journal's builder, to chain more calls.</returns>
    /// <exception cref="ArgumentException"><paramref name="command"/> or <paramref name="tokenFile"/> is empty.</exception>
    public static IResourceBuilder<DurablyJournalResource> WithDashboard(this IResourceBuilder<DurablyJournalResource> builder, string command = "durably",
        IEnumerable<string>? commandArgs = null, string? tokenFile = null, int? port = null, Action<IResourceBuilder<DurablyDashboardResource>>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (string.IsNullOrWhiteSpace(command))
        {
            throw new ArgumentException("The dashboard needs the command that runs the Durably CLI: \"durably\" (the dotnet tool), \"dotnet\" with [\"durably\"], or a path.", nameof(command));
        }

        if (tokenFile is not null && string.IsNullOrWhiteSpace(tokenFile))
        {
            throw new ArgumentException("The token file is empty; give its path, or null for a read-only dashboard.", nameof(tokenFile));
        }

        var app = builder.ApplicationBuilder;
        var journal = builder.Resource;
        var dashboard = new DurablyDashboardResource($"{journal.Name}-dashboard", command, app.AppHostDirectory, journal);
        var prefix = commandArgs?.ToArray() ?? [];
        if (prefix.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("An argument of the command is empty.", nameof(commandArgs));
        }

        var tokens = tokenFile is null ? null : Path.GetFullPath(tokenFile, app.AppHostDirectory);
        var resource = app.AddResource(dashboard)
            .WithHttpEndpoint(port: port, name: DurablyDashboardResource.HttpEndpointName)
            .WithArgs(context =>
            {
                foreach (var arg in prefix)
                {
                    context.Args.Add(arg);
                }

                context.Args.Add("serve");
                context.Args.Add("--urls");
                context.Args.Add(ReferenceExpression.Create($"http://127.0.0.1:{dashboard.HttpEndpoint.Property(EndpointProperty.TargetPort)}"));
                if (tokens is not null)
                {
                    context.Args.Add("--token-file");
                    context.Args.Add(tokens);
                }
            })
            .WithEnvironment("DURABLY_STORE", journal.ConnectionStringExpression)
            .WithParentRelationship(builder)
            .WaitFor(builder)
            .ExcludeFromManifest();
        configure?.Invoke(resource);
        return builder;
    }

    private static IResourceBuilder<DurablyJournalResource> AddJournal(IDistributedApplicationBuilder builder, DurablyJournalResource journal)
        => builder.AddResource(journal)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "DurablyJournal",
                State = KnownResourceStates.NotStarted,
                Properties = [new("durably.journal.kind", journal.Kind.ToString())],
            })
            .OnInitializeResource(async (resource, initialize, cancellationToken) =>
            {
                // BeforeResourceStartedEvent is where Aspire waits for the resources this one waits for (the database).
                await initialize.Eventing.PublishAsync(new BeforeResourceStartedEvent(resource, initialize.Services), cancellationToken).ConfigureAwait(false);
                await initialize.Notifications.PublishUpdateAsync(resource, s => s with { State = KnownResourceStates.Running }).ConfigureAwait(false);
                await initialize.Eventing.PublishAsync(new ConnectionStringAvailableEvent(resource, initialize.Services), cancellationToken).ConfigureAwait(false);
            });
}
