using Durably.Journal;
using Durably.Storage;
using Xunit;

namespace Durably.Testing;

// The store contract for delivering and reading signals.
public abstract partial class JournalStoreComplianceTests
{
#pragma warning disable CS1591
    [Fact]
    public async Task DeliverSignal_ToWaitingRun_IsReadableInOrderAndWakesRun()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        await store.AppendAsync(Start(id));

        // Far in the future by the store's clock, which may be a server's real clock rather than Clock.
        var farFuture = (await store.GetRunAsync(id))!.UpdatedAt.AddDays(1);
        await store.AppendAsync(new RunAppend(id, 1, [new TimerStarted { Sequence = 1, Timestamp = Ms(1), Step = 1, DueAt = farFuture }]) { Status = RunStatus.Suspended, WakeAt = farFuture, StatusDetail = "signal:approval" });
        Assert.Empty(await store.ClaimRunsAsync(new ClaimRequest { Owner = "w1" }));

        var first = await store.DeliverSignalAsync(id, new SignalMessage("approval", Payload.FromJson("{\"ok\":true}"), "ana"));
        var second = await store.DeliverSignalAsync(id, new SignalMessage("note"));

        Assert.True(second.SignalId > first.SignalId);
        var signals = await store.ReadSignalsAsync(id);
        Assert.Equal(["approval", "note"], signals.Select(s => s.Name));
        Assert.Equal("ana", signals[0].Sender);
        Assert.Equal(Payload.FromJson("{\"ok\":true}"), signals[0].Payload);
        Assert.Null(signals[1].Payload);
        Assert.Equal([second.SignalId], (await store.ReadSignalsAsync(id, first.SignalId)).Select(s => s.SignalId));

        var claimed = await store.ClaimRunsAsync(new ClaimRequest { Owner = "w1" });
        Assert.Equal([id], claimed.Select(l => l.RunId));
    }

    [Fact]
    public async Task DeliverSignal_UnknownOrFinishedRun_ThrowsAndStoresNothing()
    {
        await using var store = await CreateStoreAsync();
        await Assert.ThrowsAsync<RunNotFoundException>(() => store.DeliverSignalAsync(new RunId("nobody"), new SignalMessage("x")));

        var id = NewId();
        await store.AppendAsync(Start(id));
        await store.AppendAsync(new RunAppend(id, 1, [new RunCompleted { Sequence = 1, Timestamp = Ms(1) }]) { Status = RunStatus.Completed });

        var ex = await Assert.ThrowsAsync<RunFinishedException>(() => store.DeliverSignalAsync(id, new SignalMessage("late")));
        Assert.Equal(RunStatus.Completed, ex.Status);
        Assert.Empty(await store.ReadSignalsAsync(id));
        await Assert.ThrowsAsync<ArgumentException>(() => store.DeliverSignalAsync(id, new SignalMessage("")));
    }
#pragma warning restore CS1591
}
