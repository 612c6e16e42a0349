using System.Globalization;
using System.Net;
using System.Text.Json;
using Durably.AspNetCore.TestHost;
using Durably.Journal;
using Xunit.Abstractions;

namespace Durably.AspNetCore.Tests;

// The claim: a client in another process than the worker watches a run from a cursor, is disconnected, reconnects with the
// last cursor it received, and sees every event of the run's journal once, in journal order, whichever way it reconnects
// (Last-Event-ID, ?from=, WatchAsync's cursor), while the run streams model text, suspends, resumes on a signal from a third
// process, and continues on another worker after its first worker is killed with SIGKILL.
public sealed class WatchAcrossProcessesTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task WatchAsync_ClientsReconnectWhileWorkerIsKilled_SeeEveryJournalEventOnceInOrder(string kind)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var ct = timeout.Token;
        await using var store = await TestStore.CreateAsync(kind);
        var runId = new RunId("watched-" + Guid.NewGuid().ToString("N")[..12]);
        var (worker1, _) = await HostProcess.StartAsync("ready ", "worker", store.Name, runId.Value, "worker-1");
        HostProcess? worker2 = null;
        var (server, url) = await HostProcess.StartAsync("listening ", "serve", store.Name);
        try
        {
            var client = new DurableClient(store.Store);
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            var events = $"{url}/runs/{runId.Value}/events";

            // A second client in this process watches through WatchAsync directly, and stops and resumes on its own.
            var direct = Task.Run(() => WatchWithOneReconnectAsync(client, runId, stopAfter: 7, ct), ct);

            var seen = new List<SseStream.Message>();

            // 1. From the start; disconnect after 5 events.
            var ended = await ReadAsync(http, events, null, seen, m => Task.FromResult(seen.Count == 5), ct);
            Assert.False(ended);

            // 2. Reconnect as a browser does, with Last-Event-ID; disconnect once the run waits for its signal.
            ended = await ReadAsync(http, events, seen[^1].Id, seen, m => Task.FromResult(m.Event == "run.suspended"), ct);
            Assert.False(ended);
            Assert.Equal("signal 'go'", JsonDocument.Parse(seen[^1].Data!).RootElement.GetProperty("waitingFor").GetString());

            // 3. The signal comes from this process; reconnect with ?from=. Kill the worker among the tool steps, start another,
            //    and disconnect after a few more steps.
            await client.SignalAsync(runId, "go", "now", ct);
            ended = await ReadAsync(http, $"{events}?from={seen[^1].Id}", null, seen, async m =>
            {
                if (worker2 is null && IsCompleted(m, "finish-2"))
                {
                    await worker1.KillAsync();
                    (worker2, _) = await HostProcess.StartAsync("ready ", "worker", store.Name, runId.Value, "worker-2");
                }

                return IsCompleted(m, "finish-5");
            }, ct);
            Assert.False(ended);
            Assert.NotNull(worker2);

            // 4. Reconnect with Last-Event-ID and read until the server ends the stream after the run's end.
            ended = await ReadAsync(http, events, seen[^1].Id, seen, _ => Task.FromResult(false), ct);
            Assert.True(ended, "the server ends the stream after the run's last event");
            Assert.Equal("run.completed", seen[^1].Event);

            // 5. A browser reconnecting after the end is told there is nothing more (204 stops an EventSource).
            using (var after = await SseStream.ConnectAsync(http, events, seen[^1].Id, ct))
            {
                Assert.Equal(HttpStatusCode.NoContent, after.StatusCode);
            }

            // The union of the connections is the journal, entry by entry: no duplicate, no gap, the same order.
            var journal = await store.Store.ReadAsync(runId, 0, ct);
            var end = journal.Select((e, i) => (e, i)).First(x => x.e is RunCompleted).i;
            var expected = journal.Take(end + 1).ToList();
            Assert.Equal(expected.Select(e => e.Sequence.ToString(CultureInfo.InvariantCulture)), seen.Select(m => m.Id));
            Assert.Equal(expected.Select(EventName), seen.Select(m => m.Event));
            Assert.Equal(expected.Select(e => e.Sequence), seen.Select(m => JsonDocument.Parse(m.Data!).RootElement.GetProperty("seq").GetInt64()));

            output.WriteLine($"{kind}: {seen.Count} events over 4 connections: " + string.Join(", ", seen.GroupBy(m => m.Event).Select(g => $"{g.Key} x{g.Count()}")));

            // WatchAsync's two passes add up to the same list.
            var watched = await direct;
            Assert.Equal(seen.Select(m => m.Id), watched.Select(e => e.Cursor));
            Assert.Equal(seen.Select(m => m.Event), watched.Select(e => RunEventStream.KindName(e.Kind)));

            // The model's text arrived in pieces while it streamed, and the pieces add up to the answer.
            var progress = seen.Where(m => m.Event == "step.progress").Select(m => JsonDocument.Parse(m.Data!).RootElement.GetProperty("text").GetString()).ToList();
            Assert.True(progress.Count >= 2, $"the model's text came in {progress.Count} progress event(s)");
            Assert.Equal(WatchedWorkflow.Text, string.Concat(progress));
            Assert.Equal(WatchedWorkflow.Text, await client.GetResultAsync<string>(runId, ct));
            Assert.Contains(watched, e => e.Kind == RunEventKind.Resumed && e.Name == "worker-2");
            Assert.Contains(watched, e => e.Kind == RunEventKind.SignalReceived && e.Name == "go" && e.Preview == "\"now\"");
        }
        finally
        {
            await server.DisposeAsync();
            await worker1.DisposeAsync();
            if (worker2 is not null)
            {
                await worker2.DisposeAsync();
            }
        }
    }

    // Reads one connection's events into seen until handle says stop (then disconnects: false) or the server ends the
    // stream (true). Heart-beat comments are not events.
    private static async Task<bool> ReadAsync(HttpClient http, string url, string? lastEventId, List<SseStream.Message> seen, Func<SseStream.Message, Task<bool>> handle, CancellationToken ct)
    {
        using var response = await SseStream.ConnectAsync(http, url, lastEventId, ct);
        await foreach (var message in SseStream.ReadAsync(response, ct))
        {
            if (message.IsComment)
            {
                continue;
            }

            seen.Add(message);
            if (await handle(message))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<List<RunEvent>> WatchWithOneReconnectAsync(DurableClient client, RunId runId, int stopAfter, CancellationToken ct)
    {
        var events = new List<RunEvent>();
        await foreach (var e in client.WatchAsync(runId, null, ct))
        {
            events.Add(e);
            if (events.Count == stopAfter)
            {
                break;
            }
        }

        await foreach (var e in client.GetRun(runId).WatchAsync(events[^1].Cursor, ct))
        {
            events.Add(e);
        }

        return events;
    }

    private static bool IsCompleted(SseStream.Message message, string step)
        => message.Event == "step.completed" && JsonDocument.Parse(message.Data!).RootElement.TryGetProperty("name", out var name) && name.GetString() == step;

    // What each journal entry is told as, written out here rather than taken from the code under test.
    private static string EventName(JournalEntry entry) => entry switch
    {
        RunStarted => "run.started",
        StepStarted { Kind: StepKind.Signal } => "run.suspended",
        StepStarted => "step.started",
        StepProgress => "step.progress",
        StepCompleted => "step.completed",
        StepFailed => "step.failed",
        TimerStarted => "run.suspended",
        SignalReceived => "signal.received",
        TimerFired => "timer.fired",
        RunResumed => "run.resumed",
        RunCompleted => "run.completed",
        RunFailed => "run.failed",
        RunCancelled => "run.cancelled",
        _ => throw new InvalidOperationException($"unexpected entry {entry.GetType().Name}"),
    };
}
