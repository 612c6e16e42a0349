using System.Collections.Concurrent;
using Durably.Testing;

namespace DurablyAgent.Tests;

public sealed class TriageWorkflowCrashTests
{
    // Runs the workflow once, then crashes it after every durable write and inside the notification's in-doubt
    // window, recovers it on the same journal, and fails with a table if a crash changed the result, repeated the
    // notification or made replay diverge.
    [Fact]
    public async Task TriageWorkflow_CrashedAtEveryStep_RecoversLikeTheReference()
    {
        var report = await CrashTester.For("triage", new Ticket("ana", "my invoice is wrong"),
                                           fakes: () => new RecordingNotifier(),
                                           register: (runtime, notifier) => runtime.Register(() => new TriageWorkflow(notifier)))
                                      .AssertReplaySafeAsync();

        Assert.NotEmpty(report.Points);
    }

    // Counts notifications by idempotency key, as a real endpoint that deduplicates would.
    private sealed class RecordingNotifier : INotifier
    {
        public ConcurrentDictionary<string, int> Sent { get; } = new();

        public Task NotifyAsync(string message, string idempotencyKey, CancellationToken cancellationToken = default)
        {
            Sent.AddOrUpdate(idempotencyKey, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }
    }
}
