using Durably.Storage;
using Xunit;

namespace Durably.Testing;

// The store contract for listing runs: filters and paging.
public abstract partial class JournalStoreComplianceTests
{
#pragma warning disable CS1591
    [Fact]
    public async Task ListRuns_ByStatusAndWorkflow_PagesThroughEveryMatchOnce()
    {
        await using var store = await CreateStoreAsync();
        var completed = new List<RunId>();
        for (var i = 0; i < 25; i++)
        {
            var id = new RunId($"list-{i:D2}-{Guid.NewGuid():N}");
            var status = i % 3 == 0 ? RunStatus.Completed : RunStatus.Running;
            await store.AppendAsync(Start(id, i % 2 == 0 ? "even" : "odd", status));
            if (status == RunStatus.Completed)
            {
                completed.Add(id);
            }
        }

        var seen = new List<RunId>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await store.ListRunsAsync(new RunQuery { Statuses = [RunStatus.Completed], PageSize = 3, ContinuationToken = token });
            Assert.All(page.Runs, r => Assert.Equal(RunStatus.Completed, r.Status));
            Assert.True(page.Runs.Count <= 3);
            seen.AddRange(page.Runs.Select(r => r.RunId));
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null && pages < 100);

        Assert.Equal(completed.AsEnumerable().Reverse(), seen);
        var oldestFirst = await store.ListRunsAsync(new RunQuery { Statuses = [RunStatus.Completed], NewestFirst = false, PageSize = 100 });
        Assert.Equal(completed, oldestFirst.Runs.Select(r => r.RunId));
        Assert.Null(oldestFirst.ContinuationToken);

        var even = await store.ListRunsAsync(new RunQuery { Workflow = "even", PageSize = 100 });
        Assert.Equal(13, even.Runs.Count);
        var all = await store.ListRunsAsync(new RunQuery { PageSize = 1000 });
        Assert.Equal(25, all.Runs.Count);
        await Assert.ThrowsAsync<ArgumentException>(() => store.ListRunsAsync(new RunQuery { ContinuationToken = "garbage" }));
    }
#pragma warning restore CS1591
}
