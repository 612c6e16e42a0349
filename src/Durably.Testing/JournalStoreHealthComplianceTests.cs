using Durably.Journal;
using Durably.Storage;
using Xunit;

namespace Durably.Testing;

/// <summary>Defines the contract of a store that implements <see cref="IJournalStoreHealth"/>; subclass it once per such store.</summary>
/// <remarks>Each test creates a fresh, empty store through <see cref="CreateStoreAsync"/>. Failures particular to one store
/// (a deleted file, a stopped server) are tested with that store.</remarks>
public abstract class JournalStoreHealthComplianceTests
{
    /// <summary>Creates a fresh, empty store.</summary>
    protected abstract Task<IJournalStore> CreateStoreAsync();

    // The test names say what each test checks (Method_Scenario_Expected).
#pragma warning disable CS1591
    [Fact]
    public async Task CheckHealthAsync_OpenStore_Succeeds()
    {
        await using var store = await CreateStoreAsync();
        var health = Assert.IsAssignableFrom<IJournalStoreHealth>(store);

        await health.CheckHealthAsync();
    }

    [Fact]
    public async Task CheckHealthAsync_StoreWithRuns_SucceedsAndChangesNothing()
    {
        await using var store = await CreateStoreAsync();
        var runId = new RunId("health-" + Guid.NewGuid().ToString("N"));
        await store.AppendAsync([new RunAppend(runId, 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000), Workflow = "test", WorkflowVersion = 1, Input = Payload.FromJson("1") }])]);
        var before = await store.GetRunAsync(runId);

        await ((IJournalStoreHealth)store).CheckHealthAsync();
        await ((IJournalStoreHealth)store).CheckHealthAsync();

        var after = await store.GetRunAsync(runId);
        Assert.NotNull(after);
        Assert.Equal(before!.NextSequence, after.NextSequence);
        Assert.Equal(before.Status, after.Status);
        Assert.Single(await store.ReadAsync(runId));
    }

    [Fact]
    public async Task CheckHealthAsync_Disposed_ThrowsObjectDisposed()
    {
        var store = await CreateStoreAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => ((IJournalStoreHealth)store).CheckHealthAsync());
    }
#pragma warning restore CS1591
}
