using Durably.Storage;

namespace Durably.Postgres.Tests;

public sealed class PostgresGroupCommitTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    [Fact]
    public async Task Append_FailingCallsAmongManyConcurrent_FailAloneAndOthersLand()
    {
        await using var store = await _database.OpenStoreAsync();
        var ids = Enumerable.Range(0, 100).Select(_ => TestDatabase.NewId()).ToArray();
        await store.AppendAsync([.. ids.Select(id => TestDatabase.Start(id))]);
        var missing = TestDatabase.NewId();

        // Issued together so that they share transactions: every third call is at a wrong sequence, every
        // tenth also carries a run that does not exist in the same call.
        var calls = ids.Select((id, i) => i % 10 == 0
            ? store.AppendAsync([TestDatabase.Steps(id, 1), TestDatabase.Steps(missing, 1)]).AsTask()
            : store.AppendAsync(TestDatabase.Steps(id, i % 3 == 0 ? 5 : 1)).AsTask()).ToArray();
        await Task.WhenAll(calls.Select(c => c.ContinueWith(_ => { }, TaskScheduler.Default)));

        for (var i = 0; i < ids.Length; i++)
        {
            var expectedSequence = 2L;
            if (i % 10 == 0)
            {
                await Assert.ThrowsAsync<RunNotFoundException>(() => calls[i]);
                expectedSequence = 1;
            }
            else if (i % 3 == 0)
            {
                var ex = await Assert.ThrowsAsync<JournalConcurrencyException>(() => calls[i]);
                Assert.Equal((5L, 1L), (ex.ExpectedSequence, ex.ActualSequence));
                expectedSequence = 1;
            }
            else
            {
                await calls[i];
            }

            Assert.Equal(expectedSequence, (await store.GetRunAsync(ids[i]))!.NextSequence);
            Assert.Equal(expectedSequence, (await store.ReadAsync(ids[i])).Count);
        }
    }

    [Fact]
    public async Task Append_ManyCallsForOneRunQueuedTogether_LandInQueueOrder()
    {
        await using var store = await _database.OpenStoreAsync();
        var id = TestDatabase.NewId();
        var other = TestDatabase.NewId();

        // Queued before any is committed: the writer must keep each run's calls in order within one transaction.
        var calls = new List<Task> { store.AppendAsync(TestDatabase.Start(id)).AsTask(), store.AppendAsync(TestDatabase.Start(other)).AsTask() };
        for (var seq = 1; seq <= 50; seq++)
        {
            calls.Add(store.AppendAsync(seq % 7 == 0 ? [TestDatabase.Steps(id, seq), TestDatabase.Steps(other, seq)] : [TestDatabase.Steps(id, seq)]).AsTask());
            if (seq % 7 != 0)
            {
                calls.Add(store.AppendAsync(TestDatabase.Steps(other, seq)).AsTask());
            }
        }

        await Task.WhenAll(calls);

        Assert.Equal(Enumerable.Range(0, 51).Select(i => (long)i), (await store.ReadAsync(id)).Select(e => e.Sequence));
        Assert.Equal(Enumerable.Range(0, 51).Select(i => (long)i), (await store.ReadAsync(other)).Select(e => e.Sequence));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => _database.DisposeAsync().AsTask();
}
