using System.Globalization;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Durably.Sqlite.Tests;

// A lease held by a worker whose process is gone is claimable at once, with a higher epoch; a lease held by a live worker
// in another process (or another store in this one) is not, until it expires. The store tells them apart by the OS lock
// each lease owner holds on its file in <journal>.owners while its store is open.
public sealed class DeadLeaseHolderTests : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private readonly TempFolder _folder = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));

    private string StorePath => _folder.File("journal.db");

    private string OwnersFolder => StorePath + ".owners";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Claim_LeaseHolderProcessKilled_ClaimableAtOnceWithHigherEpoch(bool tryClaim)
    {
        await using var store = await SqliteJournalStore.OpenAsync(StorePath);
        var run = await StartRunAsync(store, "orphaned");
        using var holder = ChildProcess.Start("claim", StorePath, run.Value, "holder");
        long epoch;
        try
        {
            epoch = long.Parse((await holder.WaitForLineAsync("claimed ", _timeout.Token)).Split(' ')[1], CultureInfo.InvariantCulture);
            Assert.Null(await ClaimAsync(store, run, tryClaim)); // alive: its lease stands
        }
        finally
        {
            holder.Kill(); // SIGKILL
            await holder.WaitForExitAsync(_timeout.Token);
        }

        var lease = await ClaimAsync(store, run, tryClaim);

        Assert.NotNull(lease);
        Assert.Equal(epoch + 1, lease.Epoch);
        Assert.Equal("claimant", (await store.GetRunAsync(run))!.LeaseOwner);
        await Assert.ThrowsAsync<LeaseLostException>(() => store.AppendAsync(Step(run) with { LeaseEpoch = epoch }).AsTask());
        Assert.Single(Directory.GetFiles(OwnersFolder)); // the dead holder's file is gone once no lease names it; the claimant's stays
    }

    [Fact]
    public async Task Claim_LeaseHolderProcessAlive_NotClaimableUntilLeaseExpires()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = StorePath, TimeProvider = clock });
        var run = await StartRunAsync(store, "held");
        using var holder = ChildProcess.Start("claim", StorePath, run.Value, "holder");
        try
        {
            var epoch = long.Parse((await holder.WaitForLineAsync("claimed ", _timeout.Token)).Split(' ')[1], CultureInfo.InvariantCulture);

            Assert.Empty(await store.ClaimRunsAsync(new ClaimRequest { Owner = "claimant", LeaseDuration = Lease }));
            Assert.Null(await store.TryClaimRunAsync(run, "claimant", Lease));
            Assert.Equal(("holder", epoch), ((await store.GetRunAsync(run))!.LeaseOwner, (await store.GetRunAsync(run))!.LeaseEpoch));

            await PastLeaseExpiryAsync(store, run, clock);
            var lease = Assert.Single(await store.ClaimRunsAsync(new ClaimRequest { Owner = "claimant", LeaseDuration = Lease }));
            Assert.Equal(epoch + 1, lease.Epoch);
        }
        finally
        {
            holder.Kill();
            await holder.WaitForExitAsync(_timeout.Token);
        }
    }

    [Fact]
    public async Task Claim_HolderInAnotherStoreOfThisProcess_NotClaimableUntilThatStoreIsDisposed()
    {
        await using var claimant = await SqliteJournalStore.OpenAsync(StorePath);
        var run = await StartRunAsync(claimant, "in-process");
        var holderStore = await SqliteJournalStore.OpenAsync(StorePath);
        RunLease held;
        try
        {
            held = Assert.Single(await holderStore.ClaimRunsAsync(new ClaimRequest { Owner = "holder", LeaseDuration = Lease }));
            Assert.Empty(await claimant.ClaimRunsAsync(new ClaimRequest { Owner = "claimant", LeaseDuration = Lease }));
            Assert.Null(await claimant.TryClaimRunAsync(run, "claimant", Lease));
        }
        finally
        {
            await holderStore.DisposeAsync();
        }

        var lease = Assert.Single(await claimant.ClaimRunsAsync(new ClaimRequest { Owner = "claimant", LeaseDuration = Lease }));
        Assert.Equal(held.Epoch + 1, lease.Epoch);
    }

    [Fact]
    public async Task Claim_HolderWhoseFileLocksDoNotWork_TreatedAsLiveUntilLeaseExpires()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var store = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = StorePath, TimeProvider = clock });
        var run = await StartRunAsync(store, "unlocked");

        // With file locking switched off, the holder's lock file would look free although the holder lives: it must not
        // leave one behind, so the claimant falls back to the lease's expiry instead of taking the run from a live worker.
        using var holder = ChildProcess.Start(new Dictionary<string, string> { ["DOTNET_SYSTEM_IO_DISABLEFILELOCKING"] = "1" }, "claim", StorePath, run.Value, "holder");
        try
        {
            await holder.WaitForLineAsync("claimed ", _timeout.Token);
            Assert.Empty(Directory.GetFiles(OwnersFolder));
            Assert.Empty(await store.ClaimRunsAsync(new ClaimRequest { Owner = "claimant", LeaseDuration = Lease }));
            Assert.Null(await store.TryClaimRunAsync(run, "claimant", Lease));
        }
        finally
        {
            holder.Kill();
            await holder.WaitForExitAsync(_timeout.Token);
        }

        Assert.Empty(await store.ClaimRunsAsync(new ClaimRequest { Owner = "claimant", LeaseDuration = Lease }));
        await PastLeaseExpiryAsync(store, run, clock);
        Assert.Single(await store.ClaimRunsAsync(new ClaimRequest { Owner = "claimant", LeaseDuration = Lease }));
    }

    // The holder process wrote its lease's expiry on the real clock, some seconds after this test's fake clock started
    // (a child process can take seconds to start on a loaded machine): move the fake clock past that expiry itself.
    private static async Task PastLeaseExpiryAsync(IJournalStore store, RunId run, FakeTimeProvider clock)
    {
        var expires = (await store.GetRunAsync(run))!.LeaseExpiresAt ?? throw new InvalidOperationException($"Run {run} has no lease.");
        clock.SetUtcNow(expires + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Claim_OwnersFolderCannotBeCreated_ClaimsWorkAndLeasesExpireAsBefore()
    {
        await File.WriteAllTextAsync(OwnersFolder, "a file where the folder would go");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var claimant = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = StorePath, TimeProvider = clock });
        var run = await StartRunAsync(claimant, "no-folder");
        var holderStore = await SqliteJournalStore.OpenAsync(new SqliteJournalStoreOptions { Path = StorePath, TimeProvider = clock });
        var held = Assert.Single(await holderStore.ClaimRunsAsync(new ClaimRequest { Owner = "holder", LeaseDuration = Lease }));
        held = await holderStore.RenewLeaseAsync(held, Lease);
        await holderStore.DisposeAsync();

        Assert.Empty(await claimant.ClaimRunsAsync(new ClaimRequest { Owner = "claimant", LeaseDuration = Lease }));
        Assert.Null(await claimant.TryClaimRunAsync(run, "claimant", Lease));
        clock.Advance(Lease + TimeSpan.FromSeconds(1));
        var lease = await claimant.TryClaimRunAsync(run, "claimant", Lease);
        Assert.Equal(held.Epoch + 1, lease!.Epoch);
    }

    [Fact]
    public async Task Claim_FirstClaimOfAStore_DeletesFreeLockFilesNoLeaseNamesAndKeepsHeldOnes()
    {
        await using var live = await SqliteJournalStore.OpenAsync(StorePath);
        Assert.Empty(await live.ClaimRunsAsync(new ClaimRequest { Owner = "live", LeaseDuration = Lease }));
        var liveFile = Assert.Single(Directory.GetFiles(OwnersFolder));
        var stale = Path.Combine(OwnersFolder, "0123456789abcdef0123456789abcdef.lock"); // left by a process that exited
        await File.WriteAllTextAsync(stale, string.Empty);

        await using var store = await SqliteJournalStore.OpenAsync(StorePath);
        Assert.Empty(await store.ClaimRunsAsync(new ClaimRequest { Owner = "sweeper", LeaseDuration = Lease }));

        var files = Directory.GetFiles(OwnersFolder);
        Assert.DoesNotContain(stale, files);
        Assert.Contains(liveFile, files);
        Assert.Equal(2, files.Length);
    }

    public void Dispose()
    {
        _timeout.Dispose();
        _folder.Dispose();
    }

    private static async Task<RunId> StartRunAsync(SqliteJournalStore store, string id)
    {
        var run = new RunId(id);
        await store.AppendAsync(new RunAppend(run, 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UtcNow, Workflow = "test", WorkflowVersion = 1 }]) { Status = RunStatus.Pending });
        return run;
    }

    private static RunAppend Step(RunId run) => new(run, 1, [new StepStarted { Sequence = 1, Timestamp = DateTimeOffset.UtcNow, Step = 1, Name = "s", Kind = StepKind.Compute }]);

    private static async Task<RunLease?> ClaimAsync(SqliteJournalStore store, RunId run, bool tryClaim)
        => tryClaim
            ? await store.TryClaimRunAsync(run, "claimant", Lease)
            : (await store.ClaimRunsAsync(new ClaimRequest { Owner = "claimant", LeaseDuration = Lease })).SingleOrDefault();
}
