using Durably.TestHost;
using Xunit.Abstractions;

namespace Durably.Postgres.Tests;

// Schedules with several worker processes on one PostgreSQL schema: every worker runs a scheduler, and each fire must start
// exactly one run, also when a worker is killed (SIGKILL) in the middle of firing and executing.
public sealed class PostgresScheduleProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    private string S => _database.Schema;

    [Fact]
    public async Task Schedule_EverySecondForAMinute_TwoWorkersOneKilled_StartsEachFireExactlyOnce()
    {
        await (await _database.OpenStoreAsync(PostgresSchemaMode.CreateOrUpdate)).DisposeAsync();
        await _database.ExecuteAsync(ScheduleWorker.LedgerSql(S));
        await using var store = await _database.OpenStoreAsync(PostgresSchemaMode.Validate);
        string[] Args(string name) => ["schedule-worker", "pg", TestDatabase.ConnectionString, S, name, "3000"];
        await using var a = await WorkerProcess.StartCommandAsync("sched-a", Args("sched-a"));
        await using var b = await WorkerProcess.StartCommandAsync("sched-b", Args("sched-b"));

        // Both schedulers race for every fire; part way, one of them dies with runs in flight and fires half-started.
        await WaitUntilAsync(async () => (await ScheduleWorker.ReadFiresAsync(store)).Count >= 20, "20 fires");
        await b.KillAsync();
        var first = (await ScheduleWorker.ReadFiresAsync(store)).Min(f => f.Fire!.Value);
        await WaitUntilAsync(async () => (await ScheduleWorker.ReadFiresAsync(store)).Any(f => f.Fire >= first.AddSeconds(62)), "a minute of fires");
        await new DurableClient(store).Schedules.PauseAsync(ScheduleWorker.ScheduleId);
        await WaitUntilAsync(async () => (await ScheduleWorker.ReadFiresAsync(store)).All(f => f.Run.Status == Storage.RunStatus.Completed), "every run to complete");

        var fires = await ScheduleWorker.ReadFiresAsync(store);
        Assert.All(fires, f => Assert.NotNull(f.Fire));
        var seconds = fires.Select(f => f.Fire!.Value).Order().ToList();
        var span = (int)(seconds[^1] - seconds[0]).TotalSeconds + 1;
        var effects = await ReadLedgerAsync($"SELECT run_id, count(*) FROM {S}.ticks GROUP BY run_id");
        var attempts = await _database.ScalarAsync<long>($"SELECT count(*) FROM {S}.tick_attempts");
        output.WriteLine($"fires {seconds.Count} over {span} s from {seconds[0]:O}; effects {effects.Count}; effect attempts {attempts}");

        // Every second of the window has exactly one run (no fire missed, none started twice) ...
        Assert.True(span >= 61, $"The fires cover {span} s, not a minute.");
        Assert.Equal([.. Enumerable.Range(0, span).Select(i => seconds[0].AddSeconds(i))], seconds);

        // ... and each run's side effect happened once: one applied key per run, for every run.
        Assert.Equal(fires.Select(f => f.Run.RunId.Value).Order(), effects.Keys.Order());
        Assert.All(effects, e => Assert.Equal(1, e.Value));
    }

    private async Task<Dictionary<string, long>> ReadLedgerAsync(string sql)
    {
        await using var connection = await TestDatabase.ConnectAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new Dictionary<string, long>();
        while (await reader.ReadAsync())
        {
            rows[reader.GetString(0)] = reader.GetInt64(1);
        }

        return rows;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Waited 3 minutes for {what}.");
            await Task.Delay(250);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
