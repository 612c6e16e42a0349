using Durably.Inspection;
using Durably.Journal;
using Durably.Storage;
using Durably.TestHost;
using Npgsql;
using Xunit.Abstractions;

namespace Durably.Postgres.Tests;

// Several real worker processes (Durably.TestHost pg-worker) on one schema, killed with SIGKILL or paused with SIGSTOP.
// Every run executes LedgerWorkflow, whose effects go to a fenced ledger in the same database (see LedgerWorkflow). A trigger
// on the journal table records which process (by its connection's application name) inserted each entry, and when by the
// database clock, so the tests can tell who wrote what without trusting the code under test.
public sealed class PostgresWorkerProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);

    // Lease expiry is at most one TTL after the kill (leases are renewed every third of it); then a worker's poll (200 ms),
    // its claim, reading the journal and replaying it come before the first write. A loaded 2-core machine adds the rest.
    private static readonly TimeSpan TakeoverMargin = TimeSpan.FromSeconds(2);

    private readonly TestDatabase _database = new();
    private readonly List<WorkerProcess> _workers = [];

    private string S => _database.Schema;

    [Fact]
    public async Task Workers_OneKilledWithSigkillAtRandomMomentsAndRestarted_EveryRunCompletesOnceAndTakeoverIsWithinTheLease()
    {
        await PrepareAsync();
        var seed = Environment.TickCount;
        var random = new Random(seed);
        output.WriteLine($"seed {seed}");
        await Task.WhenAll(StartWorkerAsync("steady-1"), StartWorkerAsync("steady-2"), StartWorkerAsync("victim-1"));
        var victim = _workers.Single(w => w.Name == "victim-1");
        await using var store = await _database.OpenStoreAsync(PostgresSchemaMode.Validate);
        var client = new DurableClient(store);
        var runs = new List<RunId>();

        async Task StartRunAsync(int number)
        {
            var id = new RunId($"run-{number:D3}");
            await client.StartAsync(LedgerWorkflow.Name, "fencing", new StartRunOptions { RunId = id });
            lock (runs)
            {
                runs.Add(id);
            }
        }

        // 25 runs arrive at once, then one every 200 ms until the last kill, each claimed by whichever worker is quickest, so
        // runs are in flight at every kill however slow the machine is; a run takes about eight seconds.
        await Task.WhenAll(Enumerable.Range(1, 25).Select(StartRunAsync));
        using var killing = new CancellationTokenSource();
        var starting = Task.Run(async () =>
        {
            for (var number = 26; number <= 400 && !killing.IsCancellationRequested; number++)
            {
                await Task.Delay(200);
                await StartRunAsync(number);
            }
        });

        var kills = new List<Kill>();
        for (var generation = 2; generation <= 6; generation++)
        {
            // A random moment in the victim's life (inside an effect, between steps, while committing, while claiming),
            // once it holds a run: a kill of a worker that holds nothing would test no takeover.
            await Task.Delay(random.Next(800, 2500));
            await WaitUntilAsync(async () => (await HeldAsync(victim.Name)).Count > 0, TimeSpan.FromSeconds(60), $"{victim.Name} holds a run");
            var killedAt = DateTimeOffset.UtcNow;
            await victim.KillAsync();
            kills.Add(new Kill(victim.Name, killedAt, await HeldAsync(victim.Name)));
            output.WriteLine($"{victim.Name} killed holding {kills[^1].Held.Count} runs; {await UnfinishedAsync()} runs unfinished");
            await Task.Delay(random.Next(0, 500));
            victim = await StartWorkerAsync($"victim-{generation}");
        }

        await killing.CancelAsync();
        await starting;
        await WaitUntilAsync(async () => await UnfinishedAsync() == 0, TimeSpan.FromSeconds(90), "every run completes");

        // Takeover, on the database clock: from the kill to the first claim of each run the killed worker held, and to the
        // first journal write by the worker that claimed it. When that worker was itself killed before writing (a restarted
        // victim that claimed the run and died at the next kill), its claim is checked, and its write by whoever came next
        // is not timed against this kill.
        var claims = new List<TimeSpan>();
        var writes = new List<TimeSpan>();
        foreach (var kill in kills)
        {
            foreach (var (runId, epoch) in kill.Held)
            {
                var claim = await FirstClaimAfterAsync(runId, epoch);
                claims.Add(claim.At - kill.At);
                Assert.True(claim.At - kill.At <= Lease + TakeoverMargin, $"{claim.Owner} claimed {runId} {(claim.At - kill.At).TotalMilliseconds:F0} ms after {kill.Worker} was killed; the lease is {Lease.TotalSeconds} s");
                var (seq, at, app) = await FirstWriteAfterAsync(runId, kill.Worker, kill.At);
                if (app == claim.Owner)
                {
                    // Printed, not bounded: how soon the claimant writes after its claim is its replay's CPU time, which a
                    // loaded machine stretches (seen: 6.9 s at a load average of 25 on 2 cores); the claim is the takeover.
                    writes.Add(at - kill.At);
                    Assert.True(at >= claim.At, $"{app} wrote to {runId} at {at:O}, before its claim at {claim.At:O}");
                }

                if (seq > 1)
                {
                    // The run had progress: the new activation's first write says who resumed it, at which epoch.
                    var resumed = Assert.IsType<RunResumed>((await store.ReadAsync(runId, seq))[0]);
                    Assert.Equal(app, resumed.Worker);
                    Assert.True(resumed.LeaseEpoch > epoch, $"{runId}: resumed at epoch {resumed.LeaseEpoch}, the killed worker held {epoch}");
                }
            }
        }

        output.WriteLine($"{kills.Count} kills; runs held at each: {string.Join(", ", kills.Select(k => k.Held.Count))}");
        output.WriteLine($"claimed after kill (ms): {Milliseconds(claims)}");
        output.WriteLine($"first write by the claimant after kill (ms): {Milliseconds(writes)}");
        Assert.Contains(kills, k => k.Held.Count > 0);
        Assert.NotEmpty(writes);

        // Journals: sound, every step has exactly one outcome, every run exactly one result.
        var report = await JournalVerifier.VerifyAsync(store);
        Assert.True(report.IsSound, string.Join("\n", report.Problems.Select(p => $"{p.RunId} {p.Sequence}: {p.Message}")));
        var completedAt = new Dictionary<string, DateTimeOffset>();
        foreach (var runId in runs)
        {
            var journal = await store.ReadAsync(runId);
            Assert.Single(journal.OfType<RunCompleted>());
            var outcomes = journal.OfType<StepCompleted>().GroupBy(e => e.Step).ToDictionary(g => g.Key, g => g.ToList());
            Assert.Equal(Enumerable.Range(1, LedgerWorkflow.Steps.Count), outcomes.Keys.Order());
            Assert.All(outcomes, o => Assert.True(o.Value.Count == 1, $"{runId} step {o.Key} has {o.Value.Count} outcomes"));
            foreach (var (step, outcome) in outcomes)
            {
                completedAt[$"{runId.Value}:{step}"] = outcome[0].Timestamp;
            }
        }

        // Side effects: each idempotency key applied exactly once, and no call accepted after its step's outcome was durable.
        var applied = await ColumnAsync<string>($"SELECT key FROM {S}.effects");
        Assert.Equal(runs.SelectMany(LedgerWorkflow.EffectKeys).Order(), applied.Order());
        var attempts = await AttemptsAsync();
        Assert.All(attempts.Where(a => a.Accepted), a => Assert.True(
            a.At <= completedAt[a.Key].AddMilliseconds(1),
            $"{a.Key} was called by {a.Worker} at {a.At:O}, after its outcome was journaled at {completedAt[a.Key]:O}"));
        output.WriteLine($"effect calls: {attempts.Count} for {applied.Count} keys; repeated after a crash (in doubt): {attempts.Where(a => a.Accepted).GroupBy(a => a.Key).Count(g => g.Count() > 1)}; refused as stale: {attempts.Count(a => !a.Accepted)}");
    }

    [Fact]
    public async Task Worker_PausedWithSigstopPastItsLease_WritesNothingAfterTheTakeoverAndLogsTheLostLease()
    {
        await PrepareAsync();
        var zombie = await StartWorkerAsync("zombie");
        await using var store = await _database.OpenStoreAsync(PostgresSchemaMode.Validate);
        var client = new DurableClient(store);
        var runs = Enumerable.Range(1, 3).Select(i => new RunId($"held-{i}")).ToList();
        await Task.WhenAll(runs.Select(id => client.StartAsync(LedgerWorkflow.Name, "zombies", new StartRunOptions { RunId = id })));
        await WaitUntilAsync(
            async () => (await Task.WhenAll(runs.Select(id => store.GetRunAsync(id)))).All(r => r!.LeaseOwner == "zombie" && r.NextSequence >= 4),
            TimeSpan.FromSeconds(30),
            "the zombie works on every run");

        await zombie.PauseAsync();
        var zombieEpochs = (await Task.WhenAll(runs.Select(id => store.GetRunAsync(id)))).ToDictionary(r => r!.RunId, r => r!.LeaseEpoch);

        // The rescuer holds its leases long enough that, on a loaded machine, a late renewal cannot hand a run back to
        // the zombie once it continues (which would be a legitimate claim, not the lost-lease case this test is about).
        await StartWorkerAsync("rescuer", TimeSpan.FromSeconds(30));

        // The rescuer has taken every run over and called the ledger with its own fencing token on each.
        await WaitUntilAsync(
            async () => (await ColumnAsync<string>($"SELECT DISTINCT run_id FROM {S}.attempts WHERE worker = 'rescuer' AND accepted")).Count == runs.Count,
            TimeSpan.FromSeconds(30),
            "the rescuer takes every run over");
        await zombie.ContinueAsync();

        foreach (var runId in runs)
        {
            await zombie.WaitForLineAsync(l => l.Contains($"Run {runId} lost its lease", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        }

        await WaitUntilAsync(async () => await UnfinishedAsync() == 0, TimeSpan.FromSeconds(30), "the rescuer completes every run");
        Assert.Contains(nameof(LeaseLostException), zombie.Output, StringComparison.Ordinal);
        foreach (var runId in runs)
        {
            var journal = await store.ReadAsync(runId);
            var writers = await WritersAsync(runId);
            var takeover = journal.OfType<RunResumed>().Single(r => r.Worker == "rescuer");
            Assert.True(takeover.LeaseEpoch > zombieEpochs[runId]);

            // The journal from the takeover on: written by the rescuer only, no entry from the zombie's epoch.
            Assert.All(writers.Where(w => w.Seq >= takeover.Sequence), w => Assert.True(w.App == "rescuer", $"{runId} entry {w.Seq} was written by {w.App}"));
            Assert.DoesNotContain(journal.OfType<RunResumed>(), r => r.Sequence > takeover.Sequence && r.LeaseEpoch <= zombieEpochs[runId]);
            var takenAt = writers.Where(w => w.Seq >= takeover.Sequence).Min(w => w.At);
            Assert.DoesNotContain(writers, w => w.App == "zombie" && w.At >= takenAt);
            Assert.All(journal.OfType<StepCompleted>().GroupBy(e => e.Step), g => Assert.Single(g));
            Assert.Equal(LedgerWorkflow.Steps.Count, journal.OfType<StepCompleted>().Count());

            // Whatever the zombie's step bodies sent after the takeover carried its old fencing token, and the ledger refused it.
            var late = (await AttemptsAsync()).Where(a => a.RunId == runId.Value && a.Worker == "zombie" && a.At >= takenAt).ToList();
            Assert.All(late, a => Assert.False(a.Accepted, $"the ledger accepted {a.Key} from the zombie at epoch {a.Epoch} after the takeover"));
        }

        output.WriteLine(zombie.Output);
    }

    private async Task<WorkerProcess> StartWorkerAsync(string name, TimeSpan? lease = null)
    {
        var worker = await WorkerProcess.StartAsync(S, name, lease ?? Lease);
        lock (_workers)
        {
            _workers.Add(worker);
        }

        return worker;
    }

    // The store's schema, the ledger, and triggers that record which process inserted each journal entry and who claimed
    // each run at which epoch, with the database clock.
    private async Task PrepareAsync()
    {
        await (await _database.OpenStoreAsync()).DisposeAsync();
        await _database.ExecuteAsync(LedgerWorkflow.LedgerSql(S) + $"""
            CREATE TABLE {S}.writes(run bigint NOT NULL, seq bigint NOT NULL, app text NOT NULL, at timestamptz NOT NULL);
            CREATE FUNCTION {S}.record_write() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {S}.writes VALUES (NEW.run, NEW.seq, current_setting('application_name'), clock_timestamp());
                RETURN NULL;
            END $$;
            CREATE TRIGGER record_write AFTER INSERT ON {S}.entries FOR EACH ROW EXECUTE FUNCTION {S}.record_write();
            CREATE TABLE {S}.claims(run bigint NOT NULL, epoch bigint NOT NULL, owner text, at timestamptz NOT NULL);
            CREATE FUNCTION {S}.record_claim() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {S}.claims VALUES (NEW.id, NEW.lease_epoch, NEW.lease_owner, clock_timestamp());
                RETURN NULL;
            END $$;
            CREATE TRIGGER record_claim AFTER UPDATE OF lease_epoch ON {S}.runs FOR EACH ROW
                WHEN (NEW.lease_epoch <> OLD.lease_epoch) EXECUTE FUNCTION {S}.record_claim();
            """);
    }

    private async Task<long> UnfinishedAsync() => await _database.ScalarAsync<long>($"SELECT count(*) FROM {S}.runs WHERE status < 3");

    private async Task<List<(RunId RunId, long Epoch)>> HeldAsync(string worker)
    {
        await using var connection = await TestDatabase.ConnectAsync();
        await using var command = new NpgsqlCommand($"SELECT run_id, lease_epoch FROM {S}.runs WHERE lease_owner = $1 AND status < 3", connection) { Parameters = { new() { Value = worker } } };
        await using var reader = await command.ExecuteReaderAsync();
        var held = new List<(RunId, long)>();
        while (await reader.ReadAsync())
        {
            held.Add((new RunId(reader.GetString(0)), reader.GetInt64(1)));
        }

        return held;
    }

    private async Task<(string Owner, DateTimeOffset At)> FirstClaimAfterAsync(RunId runId, long epoch)
    {
        await using var connection = await TestDatabase.ConnectAsync();
        await using var command = new NpgsqlCommand($"SELECT c.owner, c.at FROM {S}.claims c JOIN {S}.runs r ON r.id = c.run WHERE r.run_id = $1 AND c.epoch > $2 ORDER BY c.epoch LIMIT 1", connection)
        {
            Parameters = { new() { Value = runId.Value }, new() { Value = epoch } },
        };
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"nobody claimed {runId} after epoch {epoch}");
        return (reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1));
    }

    private static string Milliseconds(IEnumerable<TimeSpan> times) => string.Join(", ", times.Select(t => t.TotalMilliseconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)));

    private async Task<(long Seq, DateTimeOffset At, string App)> FirstWriteAfterAsync(RunId runId, string killed, DateTimeOffset after)
    {
        // Rows of one insert get their clock_timestamp() in no particular order: the first write is the lowest sequence.
        var later = (await WritersAsync(runId)).Where(w => w.App != killed && w.At > after).ToList();
        Assert.True(later.Count > 0, $"nobody wrote to {runId} after {killed} was killed");
        var first = later.MinBy(w => w.Seq);
        return (first.Seq, later.Min(w => w.At), first.App);
    }

    private async Task<List<(long Seq, DateTimeOffset At, string App)>> WritersAsync(RunId runId)
    {
        await using var connection = await TestDatabase.ConnectAsync();
        await using var command = new NpgsqlCommand($"SELECT w.seq, w.at, w.app FROM {S}.writes w JOIN {S}.runs r ON r.id = w.run WHERE r.run_id = $1 ORDER BY w.seq", connection) { Parameters = { new() { Value = runId.Value } } };
        await using var reader = await command.ExecuteReaderAsync();
        var writers = new List<(long, DateTimeOffset, string)>();
        while (await reader.ReadAsync())
        {
            writers.Add((reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2)));
        }

        return writers;
    }

    private async Task<List<Attempt>> AttemptsAsync()
    {
        await using var connection = await TestDatabase.ConnectAsync();
        await using var command = new NpgsqlCommand($"SELECT key, run_id, worker, epoch, at, accepted FROM {S}.attempts ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var attempts = new List<Attempt>();
        while (await reader.ReadAsync())
        {
            attempts.Add(new Attempt(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetBoolean(5)));
        }

        return attempts;
    }

    private static async Task<List<T>> ColumnAsync<T>(string sql)
    {
        await using var connection = await TestDatabase.ConnectAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<T>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetFieldValue<T>(0));
        }

        return values;
    }

    // Polls the database, which other processes change, until the condition holds.
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {timeout.TotalSeconds} s waiting until {what}");
            await Task.Delay(50);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    private sealed record Kill(string Worker, DateTimeOffset At, List<(RunId RunId, long Epoch)> Held);

    private sealed record Attempt(string Key, string RunId, string Worker, long Epoch, DateTimeOffset At, bool Accepted);
}
