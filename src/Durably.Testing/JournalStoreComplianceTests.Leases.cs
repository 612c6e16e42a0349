using Durably.Journal;
using Durably.Storage;
using Xunit;

namespace Durably.Testing;

// The store contract for leases: claiming, renewing, fencing, expiry.
public abstract partial class JournalStoreComplianceTests
{
#pragma warning disable CS1591
    [Fact]
    public async Task Leases_ClaimRenewExpireAndFence_OneHolderAtATime()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        await store.AppendAsync(Start(id));

        var first = Assert.Single(await store.ClaimRunsAsync(new ClaimRequest { Owner = "w1", LeaseDuration = TimeSpan.FromSeconds(10) }));
        Assert.Equal(id, first.RunId);
        Assert.Empty(await store.ClaimRunsAsync(new ClaimRequest { Owner = "w2", LeaseDuration = TimeSpan.FromSeconds(10) }));
        Assert.Null(await store.TryClaimRunAsync(id, "w2", TimeSpan.FromSeconds(10)));
        await store.AppendAsync(Steps(id, 1) with { LeaseEpoch = first.Epoch });
        first = await store.RenewLeaseAsync(first, TimeSpan.FromSeconds(10));

        await AdvanceClockAsync(TimeSpan.FromSeconds(11));
        var second = await store.TryClaimRunAsync(id, "w2", TimeSpan.FromSeconds(10));

        Assert.NotNull(second);
        Assert.True(second.Epoch > first.Epoch);
        var lost = await Assert.ThrowsAsync<LeaseLostException>(() => store.AppendAsync(Steps(id, 2) with { LeaseEpoch = first.Epoch }).AsTask());
        Assert.Equal(second.Epoch, lost.CurrentEpoch);
        await Assert.ThrowsAsync<LeaseLostException>(() => store.RenewLeaseAsync(first, TimeSpan.FromSeconds(10)));
        Assert.Equal(2, (await store.GetRunAsync(id))!.NextSequence);
        await store.AppendAsync(Steps(id, 2) with { LeaseEpoch = second.Epoch });

        await store.ReleaseLeaseAsync(first); // stale: must not free w2's lease
        Assert.Null(await store.TryClaimRunAsync(id, "w3", TimeSpan.FromSeconds(10)));
        await store.ReleaseLeaseAsync(second);
        var third = await store.TryClaimRunAsync(id, "w3", TimeSpan.FromSeconds(10));
        Assert.Equal("w3", third!.Owner);
        Assert.Equal("w3", (await store.GetRunAsync(id))!.LeaseOwner);
    }

    // The runtime keeps a lease only as far ahead as a running step's heartbeat timeout (and lengthens it again after): a renewal
    // sets the expiry to the store's now plus the duration asked for, sooner than before as well as later.
    [Fact]
    public async Task RenewLease_ShorterThenLongerDuration_ExpiresByTheLatestRenewal()
    {
        await using var store = await CreateStoreAsync();
        var id = NewId();
        await store.AppendAsync(Start(id));
        var claimed = Assert.Single(await store.ClaimRunsAsync(new ClaimRequest { Owner = "w1", LeaseDuration = TimeSpan.FromMinutes(10) }));

        var shortened = await store.RenewLeaseAsync(claimed, TimeSpan.FromSeconds(2));

        Assert.True(shortened.ExpiresAt < claimed.ExpiresAt - TimeSpan.FromMinutes(9), $"renewed for 2 s, the lease still expires at {shortened.ExpiresAt:O} (claimed until {claimed.ExpiresAt:O})");
        Assert.Equal(shortened.ExpiresAt, (await store.GetRunAsync(id))!.LeaseExpiresAt);
        Assert.Equal(claimed.Epoch, shortened.Epoch);
        Assert.Null(await store.TryClaimRunAsync(id, "w2", TimeSpan.FromSeconds(10)));

        var lengthened = await store.RenewLeaseAsync(shortened, TimeSpan.FromMinutes(10));
        Assert.True(lengthened.ExpiresAt > shortened.ExpiresAt + TimeSpan.FromMinutes(9));
        await AdvanceClockAsync(TimeSpan.FromSeconds(3));
        Assert.Null(await store.TryClaimRunAsync(id, "w2", TimeSpan.FromSeconds(10)));

        // Shortened again and let lapse: another worker takes the run over without waiting for the first duration.
        await store.RenewLeaseAsync(lengthened, TimeSpan.FromSeconds(2));
        await AdvanceClockAsync(TimeSpan.FromSeconds(3));
        var taken = await store.TryClaimRunAsync(id, "w2", TimeSpan.FromSeconds(10));
        Assert.NotNull(taken);
        Assert.True(taken.Epoch > claimed.Epoch);
    }

    [Fact]
    public async Task ClaimRuns_SkipsFinishedAndNotYetDueRuns()
    {
        await using var store = await CreateStoreAsync();
        var pending = NewId("pending");
        var done = NewId("done");
        var sleeping = NewId("sleeping");
        await store.AppendAsync(Start(pending));
        await store.AppendAsync(Start(done));
        await store.AppendAsync(new RunAppend(done, 1, [new RunCompleted { Sequence = 1, Timestamp = Ms(1) }]) { Status = RunStatus.Completed });
        await store.AppendAsync(Start(sleeping));
        var now = (await store.GetRunAsync(sleeping))!.UpdatedAt;
        await store.AppendAsync(new RunAppend(sleeping, 1, [new TimerStarted { Sequence = 1, Timestamp = Ms(1), Step = 1, DueAt = now.AddMinutes(5) }]) { Status = RunStatus.Suspended, WakeAt = now.AddMinutes(5) });

        var claimed = await store.ClaimRunsAsync(new ClaimRequest { Owner = "w", MaxRuns = 10, LeaseDuration = TimeSpan.FromHours(1) });
        Assert.Equal([pending], claimed.Select(l => l.RunId));
        Assert.Null(await store.TryClaimRunAsync(done, "w", TimeSpan.FromSeconds(1)));

        await AdvanceClockAsync(TimeSpan.FromMinutes(6));
        var later = await store.ClaimRunsAsync(new ClaimRequest { Owner = "w", MaxRuns = 10, LeaseDuration = TimeSpan.FromHours(1) });
        Assert.Equal([sleeping], later.Select(l => l.RunId));
    }

    [Fact]
    public async Task TryClaimRun_SuspendedRunNotDue_IsNotClaimedUntilASignalOrItsTimeWakesIt()
    {
        // A worker activating a run by id (after starting it or delivering a signal) must not take a run that another pass
        // already executed to its next suspension: that activation would only replay it and suspend it again.
        await using var store = await CreateStoreAsync();
        var waiting = NewId("waiting");
        var sleeping = NewId("sleeping");
        await store.AppendAsync(Start(waiting));
        await store.AppendAsync(new RunAppend(waiting, 1, [new TimerStarted { Sequence = 1, Timestamp = Ms(1), Step = 1, DueAt = DateTimeOffset.MaxValue }]) { Status = RunStatus.Suspended, StatusDetail = "signal:go" });
        await store.AppendAsync(Start(sleeping));
        var now = (await store.GetRunAsync(sleeping))!.UpdatedAt;
        await store.AppendAsync(new RunAppend(sleeping, 1, [new TimerStarted { Sequence = 1, Timestamp = Ms(1), Step = 1, DueAt = now.AddMinutes(5) }]) { Status = RunStatus.Suspended, WakeAt = now.AddMinutes(5) });

        Assert.Null(await store.TryClaimRunAsync(waiting, "w", TimeSpan.FromMinutes(1)));
        Assert.Null(await store.TryClaimRunAsync(sleeping, "w", TimeSpan.FromMinutes(1)));

        await store.DeliverSignalAsync(waiting, new SignalMessage("go", null));
        await AdvanceClockAsync(TimeSpan.FromMinutes(6));
        Assert.Equal(waiting, (await store.TryClaimRunAsync(waiting, "w", TimeSpan.FromMinutes(1)))?.RunId);
        Assert.Equal(sleeping, (await store.TryClaimRunAsync(sleeping, "w", TimeSpan.FromMinutes(1)))?.RunId);
    }
#pragma warning restore CS1591
}
