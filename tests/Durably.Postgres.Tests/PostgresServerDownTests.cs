using System.Net;
using System.Net.Sockets;
using Durably.Storage;
using Npgsql;

namespace Durably.Postgres.Tests;

public sealed class PostgresServerDownTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    [Fact]
    public async Task Open_NothingListensThere_ThrowsJournalStoreExceptionNamingHost()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var ex = await Assert.ThrowsAsync<JournalStoreException>(() => PostgresJournalStore.OpenAsync($"Host=127.0.0.1;Port={port};Username=durably;Timeout=5", PostgresSchemaMode.Validate));

        Assert.Contains($"Cannot reach the PostgreSQL server at 127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith($"127.0.0.1:{port}/", ex.StoreLocation, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operations_ServerGoesDownThenComesBack_FailNamingHostThenWorkAgain()
    {
        await using var proxy = new TcpProxy(TestDatabase.ConnectionString);
        var options = new PostgresJournalStoreOptions { ConnectionString = proxy.ConnectionString, Schema = _database.Schema, SchemaMode = PostgresSchemaMode.CreateOrUpdate, InDoubtResolutionTimeout = TimeSpan.FromSeconds(1) };
        await using var store = await PostgresJournalStore.OpenAsync(options);
        var id = TestDatabase.NewId();
        await store.AppendAsync(TestDatabase.Start(id));

        proxy.Stop();

        var append = await Assert.ThrowsAsync<JournalStoreException>(() => store.AppendAsync(TestDatabase.Steps(id, 1)).AsTask());
        var read = await Assert.ThrowsAsync<JournalStoreException>(() => store.ReadAsync(id));
        var claim = await Assert.ThrowsAsync<JournalStoreException>(() => store.ClaimRunsAsync(new ClaimRequest { Owner = "w" }));
        Assert.All(new[] { append, read, claim }, ex => Assert.Contains($"127.0.0.1:{proxy.Port}", ex.Message, StringComparison.Ordinal));
        Assert.Contains("Cannot reach", read.Message, StringComparison.Ordinal);

        proxy.Start();
        var run = await store.GetRunAsync(id);
        await store.AppendAsync(TestDatabase.Steps(id, run!.NextSequence));
        Assert.Equal(run.NextSequence + 1, (await store.GetRunAsync(id))!.NextSequence);
    }

    [Theory]
    [InlineData("53100", typeof(StoreFullException))]
    [InlineData("53300", typeof(JournalStoreException))]
    [InlineData("25006", typeof(JournalStoreException))]
    public void Translate_ServerErrors_BecomeStoreExceptionsNamingTheServer(string sqlState, Type expected)
    {
        var error = new PostgresException("could not extend file: No space left on device", "ERROR", "ERROR", sqlState);

        var translated = PostgresErrors.Translate(error, "db.example:5432/app (schema durably)", "writing");

        Assert.IsType(expected, translated);
        Assert.Contains("db.example:5432/app", translated.Message, StringComparison.Ordinal);
        Assert.Same(error, translated.InnerException);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
