using Durably.Journal;
using Durably.Storage;
using Xunit;

namespace Durably.Testing;

/// <summary>Adds the contract of stores that keep journals across a restart: what was acknowledged is there after reopening.</summary>
public abstract class DurableJournalStoreComplianceTests : JournalStoreComplianceTests
{
    /// <summary>Opens the store again over the same data as the last store <see cref="JournalStoreComplianceTests.CreateStoreAsync"/> made.</summary>
    protected abstract Task<IJournalStore> ReopenStoreAsync();

    // The test names say what each test checks (Method_Scenario_Expected).
#pragma warning disable CS1591
    [Fact]
    public async Task Reopen_AfterDispose_KeepsEveryAcknowledgedEntryRunAndSignal()
    {
        var id = new RunId("reopen-" + Guid.NewGuid().ToString("N"));
        long signalId;
        await using (var store = await CreateStoreAsync())
        {
            await store.AppendAsync(Start(id, "durable", RunStatus.Running));
            await store.AppendAsync(Steps(id, 1, 5));
            await store.AppendAsync(new RunAppend(id, 6, [new TimerStarted { Sequence = 6, Timestamp = Ms(6), Step = 6, DueAt = Ms(600) }]) { Status = RunStatus.Suspended, WakeAt = Ms(600), StatusDetail = "timer" });
            signalId = (await store.DeliverSignalAsync(id, new SignalMessage("go", Payload.FromJson("42"), "ops"))).SignalId;
        }

        await using (var reopened = await ReopenStoreAsync())
        {
            var entries = await reopened.ReadAsync(id);
            Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)i), entries.Select(e => e.Sequence));
            Assert.Equal("durable", ((RunStarted)entries[0]).Workflow);
            Assert.Equal(Payload.FromJson("5"), ((StepCompleted)entries[5]).Result);
            var run = await reopened.GetRunAsync(id);
            Assert.Equal(RunStatus.Suspended, run!.Status);
            Assert.Equal(7, run.NextSequence);
            var signal = Assert.Single(await reopened.ReadSignalsAsync(id));
            Assert.Equal((signalId, "go", "ops"), (signal.SignalId, signal.Name, signal.Sender));

            // The journal continues where it was.
            await reopened.AppendAsync(new RunAppend(id, 7, [new TimerFired { Sequence = 7, Timestamp = Ms(7), Step = 6 }]));
            await Assert.ThrowsAsync<JournalConcurrencyException>(() => reopened.AppendAsync(Start(id)).AsTask());
        }
    }
#pragma warning restore CS1591
}
