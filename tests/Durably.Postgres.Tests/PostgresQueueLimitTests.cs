using Durably.Storage;
using Durably.TestHost;
using Npgsql;
using Xunit.Abstractions;

namespace Durably.Postgres.Tests;

// A queue with limits on PostgreSQL, held by three real worker processes (Durably.TestHost pg-queue-worker) while they are
// killed with SIGKILL and restarted. The limits are measured from outside the code under test, by the database clock:
// - concurrency: each step of each run inserts a row when it enters and sets its exit time when it leaves; a step of a killed
//   worker that never left counts as running until the kill (its lease outlives the process, so this is the shorter interval);
// - rate: a trigger on the runs table records each run's first claim (its lease epoch first leaving 0: the dequeue the rate
//   limit counts), with the dequeue time the claim wrote and the database clock around it. The window is counted over the
//   written times, and each is checked to lie between the claiming statement's start and the trigger's clock, so it is the
//   moment of that claim. The trigger's own clock is not the dequeue time: it runs after the row's new values are computed,
//   and a backend descheduled in between (or compiling the trigger on its first call) records a later instant; counted over
//   those, two dequeues the limit keeps just over 60 s apart can look 59.99 s apart.
public sealed class PostgresQueueLimitTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Queue = "tenants";
    private const int PerKey = 2;
    private const int PerMinute = 60;
    private static readonly string[] Keys = ["tenant-a", "tenant-b", "tenant-c", "tenant-d"];

    // Long enough that a renewal delayed by a loaded machine (every third of it) does not lose a live worker's lease, which would
    // let a second worker execute the run while the first still does; short enough that a killed worker's runs resume in the test.
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(6);

    // How long the test watches after the first dequeue: past the first rate window, so the window is seen to move on.
    private static readonly TimeSpan Watch = TimeSpan.FromSeconds(72);

    private readonly TestDatabase _database = new();
    private readonly List<WorkerProcess> _workers = [];

    private string S => _database.Schema;

    [Fact]
    public async Task QueueTwoPerKeySixtyPerMinute_ThreeWorkersKilledAndRestarted_LimitsHoldAsMeasuredByTheDatabase()
    {
        await using var store = await _database.OpenStoreAsync();
        await _database.ExecuteAsync(QueueCommands.SlotsSql(S) + $"""
            CREATE TABLE {S}.dequeues(run_id text PRIMARY KEY, written timestamptz, statement_at timestamptz NOT NULL, at timestamptz NOT NULL, owner text);
            CREATE FUNCTION {S}.record_dequeue() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN
                INSERT INTO {S}.dequeues(run_id, written, statement_at, at, owner)
                VALUES (NEW.run_id, NEW.first_dequeued_at, statement_timestamp(), clock_timestamp(), NEW.lease_owner) ON CONFLICT DO NOTHING;
                RETURN NEW;
            END
            $f$;
            CREATE TRIGGER record_dequeue BEFORE UPDATE OF lease_epoch ON {S}.runs
                FOR EACH ROW WHEN (OLD.lease_epoch = 0 AND NEW.lease_epoch > 0) EXECUTE FUNCTION {S}.record_dequeue();
            """);
        var client = new DurableClient(store);
        await client.ConfigureQueueAsync(new QueueDefinition(Queue) { MaxConcurrencyPerKey = PerKey, RunsPerMinute = PerMinute });

        // 120 runs, 30 per key: more than two minutes of the rate, so the queue is never empty while the test watches.
        for (var i = 0; i < 120; i++)
        {
            var key = Keys[i % Keys.Length];
            await client.StartAsync(QueueCommands.Workflow, key, new StartRunOptions { RunId = new RunId($"q-{i:D3}"), Queue = Queue, QueueKey = key });
        }

        var seed = Environment.TickCount;
        var random = new Random(seed);
        output.WriteLine($"seed {seed}");
        var generation = 0;
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => StartWorkerAsync(++generation)));
        await WaitUntilAsync(async () => await _database.ScalarAsync<long>($"SELECT count(*) FROM {S}.dequeues") > 0, TimeSpan.FromSeconds(60), "a run is dequeued");
        var firstDequeue = await _database.ScalarAsync<DateTime>($"SELECT min(at) FROM {S}.dequeues");

        // Kill a worker every few seconds, preferring one that holds a run, and start a new one in its place.
        var kills = new List<(string Worker, DateTime At, int Held)>();
        var heldAtKills = new List<(string Worker, DateTime At, string RunId)>();
        while (await ClockAsync() < firstDequeue + Watch)
        {
            await Task.Delay(random.Next(3000, 7000));
            var held = new Dictionary<string, int>();
            foreach (var worker in _workers)
            {
                held[worker.Name] = (int)await _database.ScalarAsync<long>($"SELECT count(*) FROM {S}.runs WHERE lease_owner = $1 AND lease_expires_at > now() AND status < 3", worker.Name);
            }

            var busy = _workers.Where(w => held[w.Name] > 0).ToList();
            var victim = busy.Count > 0 ? busy[random.Next(busy.Count)] : _workers[random.Next(_workers.Count)];
            var runs = await ColumnAsync<string>($"SELECT run_id FROM {S}.runs WHERE lease_owner = '{victim.Name}' AND lease_expires_at > now() AND status < 3");
            await victim.KillAsync();
            var at = await ClockAsync();
            kills.Add((victim.Name, at, held[victim.Name]));
            heldAtKills.AddRange(runs.Select(r => (victim.Name, at, r)));
            _workers.Remove(victim);
            await victim.DisposeAsync();
            await StartWorkerAsync(++generation);
        }

        // A run a killed worker held goes on elsewhere once its lease expires (it resumes ahead of new runs). On a loaded machine
        // the last takeovers may come after the watch: wait for the first, with the workers still running.
        Assert.NotEmpty(heldAtKills);
        await WaitUntilAsync(() => ResumedElsewhereAsync(heldAtKills), TimeSpan.FromSeconds(60), "a run held by a killed worker is executed by another");
        foreach (var worker in _workers)
        {
            await worker.KillAsync();
        }

        var end = await ClockAsync();
        var killedAt = kills.ToDictionary(k => k.Worker, k => k.At);

        // Concurrency per key: a sweep over the step intervals.
        var intervals = new List<(string Key, DateTime From, DateTime To)>();
        await using (var connection = await TestDatabase.ConnectAsync())
        await using (var command = new NpgsqlCommand($"SELECT key, worker, entered, exited FROM {S}.slots", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var worker = reader.GetString(1);
                var to = reader.IsDBNull(3) ? killedAt.GetValueOrDefault(worker, end) : reader.GetDateTime(3);
                intervals.Add((reader.GetString(0), reader.GetDateTime(2), to));
            }
        }

        var maxPerKey = Keys.ToDictionary(k => k, k => MaxOverlap(intervals.Where(i => i.Key == k)));
        // Every first claim wrote its own moment as the dequeue time: not null, not before the claiming statement began, not
        // after the trigger ran.
        var misdated = await _database.ScalarAsync<long>($"SELECT count(*) FROM {S}.dequeues WHERE written IS NULL OR written < statement_at OR written > at");
        var dequeues = (await ColumnAsync<DateTime>($"SELECT written FROM {S}.dequeues WHERE written IS NOT NULL ORDER BY written")).ToList();
        var maxInWindow = MaxInWindow(dequeues);
        var triggerClocks = (await ColumnAsync<DateTime>($"SELECT at FROM {S}.dequeues ORDER BY at")).ToList();
        var lag = await _database.ScalarAsync<double>($"SELECT coalesce(extract(epoch FROM max(at - written)) * 1000, 0)::float8 FROM {S}.dequeues");
        var completed = await _database.ScalarAsync<long>($"SELECT count(*) FROM {S}.runs WHERE status = 3");
        var resumedElsewhere = await _database.ScalarAsync<long>($"SELECT count(*) FROM (SELECT run_id FROM {S}.slots GROUP BY run_id HAVING count(DISTINCT worker) > 1) AS moved");

        output.WriteLine($"observed max concurrent per key: {string.Join(", ", maxPerKey.Select(p => $"{p.Key} {p.Value}"))} (limit {PerKey})");
        output.WriteLine($"observed max runs first dequeued in any 60 s window: {maxInWindow} (limit {PerMinute}); {dequeues.Count} dequeued in {(dequeues[^1] - dequeues[0]).TotalSeconds:F1} s");
        output.WriteLine($"closest approach to the limit: a dequeue came {ClosestApproach(dequeues).TotalMilliseconds:F3} ms after the window of the one {PerMinute} places before it closed (by the trigger's clock: {ClosestApproach(triggerClocks).TotalMilliseconds:F3} ms, {MaxInWindow(triggerClocks)} in a window); the trigger ran at most {lag:F3} ms after the dequeue time was written; {misdated} dequeue times outside their claim");
        output.WriteLine($"{kills.Count} kills ({string.Join(", ", kills.Select(k => $"{k.Worker} holding {k.Held}"))}); {completed} runs completed; {resumedElsewhere} runs executed by more than one worker; {intervals.Count} step intervals");

        Assert.Equal(0, misdated);
        Assert.All(maxPerKey, p => Assert.True(p.Value <= PerKey, $"{p.Key} had {p.Value} steps running at once; the limit is {PerKey} per key"));
        Assert.True(maxInWindow <= PerMinute, $"{maxInWindow} runs were first dequeued within 60 s; the limit is {PerMinute}");

        // The test exercised what it claims: the limits were reached, the window moved on, and killed workers' runs went on elsewhere.
        Assert.Contains(maxPerKey, p => p.Value == PerKey);
        Assert.Equal(PerMinute, maxInWindow);
        Assert.True(dequeues.Count > PerMinute, $"only {dequeues.Count} runs were dequeued: the rate window never moved on");
        Assert.Contains(kills, k => k.Held > 0);
        Assert.True(resumedElsewhere > 0, "no run was executed by more than one worker");
    }

    // Whether a run some killed worker held has a step entered after that kill by another worker.
    private async Task<bool> ResumedElsewhereAsync(List<(string Worker, DateTime At, string RunId)> held)
    {
        foreach (var (worker, at, runId) in held)
        {
            if (await _database.ScalarAsync<long>($"SELECT count(*) FROM {S}.slots WHERE run_id = $1 AND worker <> $2 AND entered > $3", runId, worker, at) > 0)
            {
                return true;
            }
        }

        return false;
    }

    // The most times in any half-open 60 s window [t, t + 60 s), over times in ascending order.
    private static int MaxInWindow(List<DateTime> times)
        => times.Select((from, i) => times.Skip(i).TakeWhile(t => t < from + QueueDefinition.RateWindow).Count()).DefaultIfEmpty(0).Max();

    // How far past the end of a 60 s window the run PerMinute places later came, at the least (negative: inside the window).
    private static TimeSpan ClosestApproach(List<DateTime> times)
        => times.Count <= PerMinute ? TimeSpan.MaxValue : Enumerable.Range(0, times.Count - PerMinute).Min(i => times[i + PerMinute] - times[i] - QueueDefinition.RateWindow);

    private static int MaxOverlap(IEnumerable<(string Key, DateTime From, DateTime To)> intervals)
    {
        // Ends sort before starts at the same instant: a slot handed over at one instant is not two at once.
        var events = intervals.SelectMany(i => new[] { (At: i.From, Delta: 1), (At: i.To, Delta: -1) }).OrderBy(e => e.At).ThenBy(e => e.Delta);
        int current = 0, max = 0;
        foreach (var (_, delta) in events)
        {
            current += delta;
            max = Math.Max(max, current);
        }

        return max;
    }

    private async Task StartWorkerAsync(int generation)
    {
        var worker = await WorkerProcess.StartAsync("pg-queue-worker", S, $"qw-{generation}", Lease);
        lock (_workers)
        {
            _workers.Add(worker);
        }
    }

    private Task<DateTime> ClockAsync() => _database.ScalarAsync<DateTime>("SELECT clock_timestamp()");

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

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {timeout.TotalSeconds} s waiting until {what}");
            await Task.Delay(200);
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
}
