using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Durably.Journal;
using Durably.Storage;

namespace Durably;

// DurableClient.WatchAsync: reads a run's journal from a cursor and tells each entry as a RunEvent, then waits for more.
// The wait ends at once when the runtime of the client's process writes to the run (in-process watchers), otherwise
// after a poll of the run's index record (its next sequence), every WatchPollInterval while entries come and backing
// off to ten times that while the run is quiet. The watch ends after the run's end entry.
internal static class RunWatch
{
    // The cursor's sequence: -1 (before the first entry) for null.
    public static long ParseCursor(string? cursor)
    {
        if (cursor is null)
        {
            return -1;
        }

        if (cursor.Length is 0 or > 19 || !long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            throw new ArgumentException(
                $"'{Shorten(cursor)}' is not a cursor of a run event. Pass the Cursor of the last RunEvent received (or the id of the last server-sent event), or null to watch from the run's start.",
                nameof(cursor));
        }

        return sequence;
    }

    public static string CursorOf(long sequence) => sequence.ToString(CultureInfo.InvariantCulture);

    public static async IAsyncEnumerable<RunEvent> WatchAsync(DurableClient client, DurableRuntime? worker, RunId runId, long after, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var store = client.Store;
        var steps = new Dictionary<int, (StepKind Kind, string Name)>();
        var fastest = client.Options.WatchPollInterval;
        var interval = fastest;
        var read = 0L;
        var first = true;
        while (true)
        {
            // Taken before the read, so that a write between the read and the wait wakes the wait.
            var appended = worker?.WhenAppended(runId);
            var run = await store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false) ?? throw new RunNotFoundException(runId);
            if (first)
            {
                first = false;
                // A finished run's last cursor may be one past its journal: the end of a run that ended without an end entry.
                if (after >= run.NextSequence && !(run.Status.IsFinished() && after == run.NextSequence))
                {
                    throw new ArgumentException(
                        $"The cursor '{CursorOf(after)}' is past the end of run '{runId}', whose journal holds {run.NextSequence} entries: it is not a cursor of this run. Pass the Cursor of an event of this run, or null to watch from its start.",
                        "fromCursor");
                }
            }

            if (run.NextSequence > read)
            {
                var entries = await store.ReadAsync(runId, read, cancellationToken).ConfigureAwait(false);
                foreach (var entry in entries)
                {
                    read = entry.Sequence + 1;
                    var runEvent = Describe(client, runId, entry, steps);
                    if (entry.Sequence > after)
                    {
                        yield return runEvent;
                    }

                    if (runEvent.IsFinal)
                    {
                        yield break;
                    }
                }

                if (entries.Count > 0)
                {
                    interval = fastest;
                    continue;
                }
            }

            if (run.Status.IsFinished())
            {
                // Finished without an end entry: a replay divergence stops a run by its index record alone.
                if (read > after)
                {
                    yield return EndWithoutEntry(runId, run, read);
                }

                yield break;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(interval, client.Options.TimeProvider, wait.Token);
            await (appended is null ? delay : Task.WhenAny(appended, delay)).ConfigureAwait(false);
            await wait.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, fastest.Ticks * 10));
        }
    }

    private static RunEvent Describe(DurableClient client, RunId runId, JournalEntry entry, Dictionary<int, (StepKind Kind, string Name)> steps)
    {
        var e = new RunEvent { Cursor = CursorOf(entry.Sequence), Kind = RunEventKind.StepProgress, RunId = runId, Sequence = entry.Sequence, Timestamp = entry.Timestamp };
        var codec = client.Options.Codec;
        switch (entry)
        {
            case RunStarted s:
                return e with { Kind = RunEventKind.RunStarted, Name = s.Workflow };
            case StepStarted s:
                steps[s.Step] = (s.Kind, s.Name);
                return s.Kind == StepKind.Signal
                    ? e with { Kind = RunEventKind.Suspended, Step = s.Step, StepKind = s.Kind, Name = s.Name, Attempt = s.Attempt, WaitingFor = WaitDescription(s.Name) }
                    : e with { Kind = RunEventKind.StepStarted, Step = s.Step, StepKind = s.Kind, Name = s.Name, Attempt = s.Attempt };
            case StepProgress p:
                return WithStep(e with { Kind = RunEventKind.StepProgress, Text = p.Text }, p.Step, steps);
            case StepCompleted c:
                return WithStep(e with { Kind = RunEventKind.StepCompleted, Attempt = c.Attempt, Preview = Preview(codec, c.Result), Usage = c.Usage }, c.Step, steps);
            case StepFailed f:
                return WithStep(e with { Kind = RunEventKind.StepFailed, Attempt = f.Attempt, Error = Unseal(codec, f.Error), RetryAt = f.RetryAt }, f.Step, steps);
            case TimerStarted t:
                var isTimer = steps.TryGetValue(t.Step, out var owner) && owner.Kind == StepKind.Timer;
                var due = t.DueAt.ToString("O", CultureInfo.InvariantCulture);
                return WithStep(e with { Kind = RunEventKind.Suspended, WaitingFor = isTimer ? $"timer '{t.Name}' until {due}" : $"deadline of '{t.Name}' at {due}" }, t.Step, steps);
            case TimerFired t:
                return WithStep(e with { Kind = RunEventKind.TimerFired }, t.Step, steps);
            case SignalReceived r:
                return WithStep(e with { Kind = RunEventKind.SignalReceived, Preview = r.TimedOut ? null : Preview(codec, r.Payload), Error = r.TimedOut ? new ErrorInfo(typeof(TimeoutException).FullName!, $"No signal '{r.Name}' arrived in time.") : null }, r.Step, steps) with { Name = r.Name };
            case RunResumed r:
                return e with { Kind = RunEventKind.Resumed, Name = r.Worker };
            case RunCompleted c:
                return e with { Kind = RunEventKind.RunCompleted, Preview = Preview(codec, c.Result) };
            case RunFailed f:
                return e with { Kind = RunEventKind.RunFailed, Error = Unseal(codec, f.Error) };
            case RunCancelled c:
                return e with { Kind = RunEventKind.RunCancelled, Error = new ErrorInfo(typeof(OperationCanceledException).FullName!, c.Reason ?? "The run was cancelled.") };
            default:
                // An entry kind added later than this reader: told as progress without text, so cursors stay contiguous.
                return e;
        }
    }

    private static RunEvent WithStep(RunEvent e, int step, Dictionary<int, (StepKind Kind, string Name)> steps)
        => steps.TryGetValue(step, out var known) ? e with { Step = step, StepKind = known.Kind, Name = known.Name } : e with { Step = step };

    private static string WaitDescription(string signalName)
        => SignalNames.GateOf(signalName) is { } gate ? $"approval '{gate}'" : $"signal '{signalName}'";

    private static RunEvent EndWithoutEntry(RunId runId, RunRecord run, long sequence) => new()
    {
        Cursor = CursorOf(sequence),
        Kind = run.Status == RunStatus.Completed ? RunEventKind.RunCompleted : run.Status == RunStatus.Cancelled ? RunEventKind.RunCancelled : RunEventKind.RunFailed,
        RunId = runId,
        Sequence = sequence,
        Timestamp = run.UpdatedAt,
        Error = run.Status == RunStatus.Completed ? null : new ErrorInfo("Durably.RunStatus." + run.Status, run.StatusDetail ?? $"The run is {run.Status}."),
    };

    private static string? Preview(Codecs.IPayloadCodec codec, Payload? payload)
    {
        if (payload is null)
        {
            return null;
        }

        string json;
        try
        {
            json = payload.IsJson ? payload.ToJsonString() : codec.Decode<JsonElement>(payload).GetRawText();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A codec without the key, or another codec than the worker's: the event goes without its preview.
            return null;
        }

        return json.Length <= RunEvent.PreviewLength ? json : string.Concat(json.AsSpan(0, RunEvent.PreviewLength - 1), "…");
    }

    private static ErrorInfo Unseal(Codecs.IPayloadCodec codec, ErrorInfo error)
    {
        try
        {
            return error.Unseal(codec);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return error;
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");
}
