using Durably.Storage;

namespace Durably.Postgres.Tests;

// Two stores in one process stand for two worker processes: they share nothing but the database.
public sealed class PostgresLeaseTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    [Fact]
    public async Task Append_ZombieWorkerAfterTakeover_IsFencedByEpoch()
    {
        await using var worker1 = await _database.OpenStoreAsync();
        await using var worker2 = await _database.OpenStoreAsync();
        var id = TestDatabase.NewId();
        await worker1.AppendAsync(TestDatabase.Start(id));
        var lease = TimeSpan.FromSeconds(1);

        var first = Assert.Single(await worker1.ClaimRunsAsync(new ClaimRequest { Owner = "w1", LeaseDuration = lease }));
        Assert.Empty(await worker2.ClaimRunsAsync(new ClaimRequest { Owner = "w2", LeaseDuration = lease }));
        await worker1.AppendAsync(TestDatabase.Steps(id, 1) with { LeaseEpoch = first.Epoch });

        // worker1 stops renewing (paused, partitioned). Its lease lapses by the database's clock; worker2 takes over.
        var second = await ClaimWhenFreeAsync(worker2, "w2", lease);

        Assert.True(second.ExpiresAt - lease >= first.ExpiresAt, $"claimed at {second.ExpiresAt - lease:O}, before the first lease expired at {first.ExpiresAt:O}");
        Assert.True(second.Epoch > first.Epoch);
        var lost = await Assert.ThrowsAsync<LeaseLostException>(() => worker1.AppendAsync(TestDatabase.Steps(id, 2) with { LeaseEpoch = first.Epoch }).AsTask());
        Assert.Equal((first.Epoch, second.Epoch), (lost.HeldEpoch, lost.CurrentEpoch));
        await Assert.ThrowsAsync<LeaseLostException>(() => worker1.RenewLeaseAsync(first, lease));
        await worker2.AppendAsync(TestDatabase.Steps(id, 2) with { LeaseEpoch = second.Epoch });

        Assert.Equal([0L, 1, 2], (await worker1.ReadAsync(id)).Select(e => e.Sequence));
        var run = await worker1.GetRunAsync(id);
        Assert.Equal(("w2", second.Epoch), (run!.LeaseOwner, run.LeaseEpoch));
    }

    [Fact]
    public async Task Append_TwoWorkersRacingWithEpochs_OnlyTheCurrentHolderWrites()
    {
        await using var worker1 = await _database.OpenStoreAsync();
        await using var worker2 = await _database.OpenStoreAsync();
        var id = TestDatabase.NewId();
        await worker1.AppendAsync(TestDatabase.Start(id));
        var stale = await worker1.TryClaimRunAsync(id, "w1", TimeSpan.FromMinutes(1));
        await _database.ExecuteAsync($"UPDATE {_database.Schema}.runs SET lease_expires_at = now() - interval '1 second'");
        var current = await worker2.TryClaimRunAsync(id, "w2", TimeSpan.FromMinutes(1));

        // Both believe they own the run and write the same sequences at the same time, many times over.
        var results = await Task.WhenAll(Enumerable.Range(1, 40).SelectMany(seq => new[]
        {
            Outcome(worker1.AppendAsync(TestDatabase.Steps(id, seq) with { LeaseEpoch = stale!.Epoch })),
            Outcome(worker2.AppendAsync(TestDatabase.Steps(id, seq) with { LeaseEpoch = current!.Epoch })),
        }));

        Assert.All(results.Where((_, i) => i % 2 == 0), r => Assert.IsType<LeaseLostException>(r));
        Assert.DoesNotContain(results, r => r is not null and not LeaseLostException and not JournalConcurrencyException);
        var entries = await worker1.ReadAsync(id);
        Assert.Equal(Enumerable.Range(0, entries.Count).Select(i => (long)i), entries.Select(e => e.Sequence));
    }

    [Fact]
    public async Task Append_TwoWorkersStartTheSameRunAtOnce_OneWinsAndTheOtherGetsConcurrency()
    {
        var application = "durably-start-" + Guid.NewGuid().ToString("N")[..8];
        await using var worker1 = await PostgresJournalStore.OpenAsync(_database.Options(connectionString: new Npgsql.NpgsqlConnectionStringBuilder(TestDatabase.ConnectionString) { ApplicationName = application }.ConnectionString));
        await using var worker2 = await _database.OpenStoreAsync();
        var id = TestDatabase.NewId();

        // worker1's new row is in the unique index, uncommitted, while its transaction sleeps in a trigger.
        var s = _database.Schema;
        await _database.ExecuteAsync($"""
            CREATE SEQUENCE {s}.holds;
            CREATE FUNCTION {s}.hold() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('{s}.holds') = 1 THEN PERFORM pg_sleep(0.5); END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER hold AFTER INSERT ON {s}.runs FOR EACH ROW EXECUTE FUNCTION {s}.hold();
            """);
        var first = worker1.AppendAsync(TestDatabase.Start(id)).AsTask();
        await WaitForSleepAsync(application);

        // worker2's insert waits for worker1's transaction, then meets a unique violation; retried, it must be
        // reported as the run existing already, not as a store failure.
        var second = await Assert.ThrowsAsync<JournalConcurrencyException>(() => worker2.AppendAsync(TestDatabase.Start(id)).AsTask());
        await first;

        Assert.Equal(0, second.ExpectedSequence);
        Assert.Single(await worker2.ReadAsync(id));
    }

    [Fact]
    public async Task ClaimRuns_TwoWorkersAtOnce_ClaimEachRunOnce()
    {
        await using var worker1 = await _database.OpenStoreAsync();
        await using var worker2 = await _database.OpenStoreAsync();
        var ids = Enumerable.Range(0, 200).Select(_ => TestDatabase.NewId()).ToArray();
        await worker1.AppendAsync([.. ids.Select(id => TestDatabase.Start(id))]);

        var claims = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            (i % 2 == 0 ? worker1 : worker2).ClaimRunsAsync(new ClaimRequest { Owner = $"w{i % 2}", MaxRuns = 15, LeaseDuration = TimeSpan.FromMinutes(1) }))));

        var claimed = claims.SelectMany(c => c).ToList();
        Assert.Equal(claimed.Count, claimed.Select(l => l.RunId).Distinct().Count());
        Assert.Equal(ids.Order(), claimed.Select(l => l.RunId).Order());
        Assert.All(claimed, l => Assert.Equal(1, l.Epoch));
    }

    [Fact]
    public async Task ReleaseLease_ThenClaimByOther_GetsNextEpochAtOnce()
    {
        await using var worker1 = await _database.OpenStoreAsync();
        await using var worker2 = await _database.OpenStoreAsync();
        var id = TestDatabase.NewId();
        await worker1.AppendAsync(TestDatabase.Start(id));
        var first = await worker1.TryClaimRunAsync(id, "w1", TimeSpan.FromMinutes(10));

        await worker1.ReleaseLeaseAsync(first!);
        var second = await worker2.TryClaimRunAsync(id, "w2", TimeSpan.FromMinutes(10));

        Assert.Equal(first!.Epoch + 1, second!.Epoch);
    }

    private static async Task<RunLease> ClaimWhenFreeAsync(PostgresJournalStore store, string owner, TimeSpan lease)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if ((await store.ClaimRunsAsync(new ClaimRequest { Owner = owner, LeaseDuration = lease })).SingleOrDefault() is { } claimed)
            {
                return claimed;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("The lease never lapsed.");
    }

    private static async Task WaitForSleepAsync(string application)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            await using var connection = await TestDatabase.ConnectAsync();
            await using var find = new Npgsql.NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'PgSleep'", connection);
            find.Parameters.Add(new Npgsql.NpgsqlParameter { Value = application });
            if ((long)(await find.ExecuteScalarAsync())! > 0)
            {
                return;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException("worker1's transaction never reached the trigger.");
    }

    private static async Task<Exception?> Outcome(ValueTask append)
    {
        try
        {
            await append;
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
