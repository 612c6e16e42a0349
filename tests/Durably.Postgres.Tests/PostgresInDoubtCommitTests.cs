using Durably.Journal;
using Durably.Storage;
using Npgsql;

namespace Durably.Postgres.Tests;

// The connection drops while a COMMIT is in flight: the store must learn what happened by reading the entries
// back, never by writing them blindly again (which would report a conflict for its own write, or worse).
public sealed class PostgresInDoubtCommitTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    [Fact]
    public async Task Append_BackendKilledDuringCommit_ReadsBackFindsNothingAndWritesOnce()
    {
        var application = "durably-stall-" + Guid.NewGuid().ToString("N")[..8];
        await using var store = await PostgresJournalStore.OpenAsync(_database.Options(connectionString: new NpgsqlConnectionStringBuilder(TestDatabase.ConnectionString) { ApplicationName = application }.ConnectionString));
        var id = TestDatabase.NewId();
        await store.AppendAsync(TestDatabase.Start(id));

        // A deferred trigger runs inside COMMIT; the first time, it sleeps there so the test can kill the backend mid-COMMIT.
        var s = _database.Schema;
        await _database.ExecuteAsync($"""
            CREATE SEQUENCE {s}.stalls;
            CREATE FUNCTION {s}.stall() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('{s}.stalls') = 1 THEN PERFORM pg_sleep(120); END IF;
                RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER stall AFTER INSERT ON {s}.entries DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {s}.stall();
            """);

        var append = store.AppendAsync(TestDatabase.Steps(id, 1, 3)).AsTask();
        var pid = await WaitForBackendInCommitAsync(application);
        Assert.False(append.IsCompleted);
        Assert.True(await _database.ScalarAsync<bool>("SELECT pg_terminate_backend($1)", pid));

        await append;

        Assert.Equal([0L, 1, 2, 3], (await store.ReadAsync(id)).Select(e => e.Sequence));
        Assert.Equal(4L, await _database.ScalarAsync<long>($"SELECT count(*) FROM {s}.entries"));
        Assert.Equal(4, (await store.GetRunAsync(id))!.NextSequence);
    }

    [Fact]
    public async Task Append_ConnectionLostAfterCommitBeforeAnswer_ReadsBackAndReportsSuccess()
    {
        var armed = 0;
        var killed = 0;
        var options = new PostgresJournalStoreOptions
        {
            ConnectionString = TestDatabase.ConnectionString,
            Schema = _database.Schema,
            SchemaMode = PostgresSchemaMode.CreateOrUpdate,
            AfterCommitForTesting = async connection =>
            {
                if (Interlocked.Exchange(ref armed, 0) == 1)
                {
                    // The COMMIT happened; now the connection dies before the store could act on the answer.
                    await _database.ExecuteAsync("SELECT pg_terminate_backend($1)", connection.ProcessID);
                    killed++;
                    await using var probe = new NpgsqlCommand("SELECT 1", connection);
                    await probe.ExecuteScalarAsync();
                }
            },
        };
        await using var store = await PostgresJournalStore.OpenAsync(options);
        var id = TestDatabase.NewId();
        var other = TestDatabase.NewId();
        await store.AppendAsync(TestDatabase.Start(id));

        Volatile.Write(ref armed, 1);
        await store.AppendAsync([TestDatabase.Steps(id, 1, 2), TestDatabase.Start(other)]);

        Assert.Equal(1, killed);
        Assert.Equal([0L, 1, 2], (await store.ReadAsync(id)).Select(e => e.Sequence));
        Assert.Single(await store.ReadAsync(other));
        Assert.Equal(3L, await _database.ScalarAsync<long>($"SELECT count(*) FROM {_database.Schema}.entries e JOIN {_database.Schema}.runs r ON r.id = e.run WHERE r.run_id = $1", id.Value));
        await store.AppendAsync(TestDatabase.Steps(id, 3));
    }

    [Fact]
    public async Task Append_ServerUnreachableAfterLostCommit_FailsSayingOutcomeUnknown()
    {
        await using var proxy = new TcpProxy(TestDatabase.ConnectionString);
        var armed = 0;
        var options = new PostgresJournalStoreOptions
        {
            ConnectionString = proxy.ConnectionString,
            Schema = _database.Schema,
            SchemaMode = PostgresSchemaMode.CreateOrUpdate,
            InDoubtResolutionTimeout = TimeSpan.FromSeconds(1),
            AfterCommitForTesting = async connection =>
            {
                if (Interlocked.Exchange(ref armed, 0) == 1)
                {
                    proxy.Stop();
                    await using var probe = new NpgsqlCommand("SELECT 1", connection);
                    await probe.ExecuteScalarAsync();
                }
            },
        };
        await using var store = await PostgresJournalStore.OpenAsync(options);
        var id = TestDatabase.NewId();
        await store.AppendAsync(TestDatabase.Start(id));

        Volatile.Write(ref armed, 1);
        var ex = await Assert.ThrowsAsync<JournalStoreException>(() => store.AppendAsync(TestDatabase.Steps(id, 1)).AsTask());

        Assert.Contains("may or may not have been written", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{proxy.Port}", ex.Message, StringComparison.Ordinal);
        proxy.Start();
        Assert.Equal(2, (await store.GetRunAsync(id))!.NextSequence); // it had committed
    }

    private async Task<int> WaitForBackendInCommitAsync(string application)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            await using var connection = await TestDatabase.ConnectAsync();
            await using var find = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'PgSleep' AND query = 'COMMIT'", connection);
            find.Parameters.Add(new NpgsqlParameter { Value = application });
            if (await find.ExecuteScalarAsync() is int pid)
            {
                return pid;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException("The append's COMMIT never reached the stalling trigger.");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
