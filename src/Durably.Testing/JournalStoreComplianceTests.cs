using System.Text;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Durably.Testing;

/// <summary>Defines the contract every <see cref="IJournalStore"/> must keep; subclass it once per store.</summary>
/// <remarks>
/// Each test creates a fresh, empty store through <see cref="CreateStoreAsync"/>. Stores whose clock
/// can be driven should use <see cref="Clock"/>; stores on a server clock override <see cref="AdvanceClockAsync"/>.
/// The tests are split by verb of the store: <c>.Append.cs</c>, <c>.Read.cs</c>, <c>.Signals.cs</c>, <c>.Leases.cs</c>, <c>.Purge.cs</c>.
/// </remarks>
public abstract partial class JournalStoreComplianceTests
{
    /// <summary>Gets a fake clock starting at a fixed instant, for stores that accept a <see cref="TimeProvider"/>.</summary>
    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Creates a fresh, empty store.</summary>
    protected abstract Task<IJournalStore> CreateStoreAsync();

    /// <summary>Moves the store's clock forward (by default <see cref="Clock"/>).</summary>
    protected virtual Task AdvanceClockAsync(TimeSpan by)
    {
        Clock.Advance(by);
        return Task.CompletedTask;
    }

    /// <summary>Builds a new run's first append: a <see cref="RunStarted"/> entry.</summary>
    protected static RunAppend Start(RunId runId, string workflow = "test", RunStatus? status = null)
        => new(runId, 0, [new RunStarted { Sequence = 0, Timestamp = Ms(0), Workflow = workflow, WorkflowVersion = 1, Input = Payload.FromJson("{\"q\":1}") }]) { Status = status };

    /// <summary>Builds <paramref name="count"/> completed-step entries starting at <paramref name="fromSequence"/>.</summary>
    protected static RunAppend Steps(RunId runId, long fromSequence, int count = 1)
        => new(runId, fromSequence, [.. Enumerable.Range(0, count).Select(i => (JournalEntry)new StepCompleted
        {
            Sequence = fromSequence + i,
            Timestamp = Ms(fromSequence + i),
            Step = (int)(fromSequence + i),
            Result = Payload.FromJson($"{fromSequence + i}"),
        })]);

    /// <summary>Returns a millisecond-precision timestamp (the wire precision).</summary>
    protected static DateTimeOffset Ms(long offset) => DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000 + offset);

    private static RunId NewId(string prefix = "r") => new($"{prefix}-{Guid.NewGuid():N}");

    // The test names say what each test checks (Method_Scenario_Expected).
#pragma warning disable CS1591
    [Fact]
    public async Task Dispose_ThenUse_ThrowsObjectDisposed()
    {
        var store = await CreateStoreAsync();
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.AppendAsync(Start(NewId())).AsTask());
    }

    /// <summary>Returns UTF-8 bytes of <paramref name="text"/>, for payload helpers in subclasses.</summary>
    protected static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
#pragma warning restore CS1591
}
