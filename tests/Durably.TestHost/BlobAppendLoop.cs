using System.Globalization;
using Durably.Journal;
using Durably.Sqlite;
using Durably.Storage;

namespace Durably.TestHost;

/// <summary>Appends large step results (offloaded to blobs) to several runs concurrently, forever, printing <c>ack RUN SEQ</c> after each durable append.</summary>
/// <remarks>The payloads are <see cref="Payload"/>s the parent can recompute (<see cref="PayloadFor"/>); every third is shared by all runs, so blobs are also reused while the process is killed.</remarks>
public static class BlobAppendLoop
{
    /// <summary>The inline limit the loop opens the store with.</summary>
    public const int InlineLimit = 1024;

    /// <summary>Gets the step result the loop appends at <paramref name="sequence"/> of run number <paramref name="run"/>.</summary>
    public static Payload PayloadFor(int run, long sequence)
    {
        var seed = sequence % 3 == 0 ? $"shared-{sequence}" : $"run-{run}-seq-{sequence}";
        return Payload.FromValue(string.Concat(Enumerable.Repeat(seed + "|", 64 * 1024 / (seed.Length + 1))));
    }

    /// <summary>Gets the options the loop opens the store with.</summary>
    public static SqliteJournalStoreOptions Options(string path) => new() { Path = path, PayloadBlobs = new PayloadBlobOptions { InlineLimit = InlineLimit } };

    /// <summary>Runs the loop until the process is killed.</summary>
    public static async Task<int> RunAsync(string path, int runs)
    {
        await using var store = await SqliteJournalStore.OpenAsync(Options(path));
        var gate = new Lock();
        await Task.WhenAll(Enumerable.Range(0, runs).Select(r => Task.Run(async () =>
        {
            var id = new RunId($"blob-{r}");
            await store.AppendAsync([new RunAppend(id, 0, [new RunStarted { Sequence = 0, Timestamp = DateTimeOffset.UnixEpoch, Workflow = "blobs", WorkflowVersion = 1 }]) { Status = RunStatus.Running }]);
            for (long seq = 1; ; seq++)
            {
                await store.AppendAsync([new RunAppend(id, seq, [new StepCompleted { Sequence = seq, Timestamp = DateTimeOffset.UnixEpoch, Step = (int)seq, Result = PayloadFor(r, seq) }])]);
                lock (gate)
                {
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ack {r} {seq}"));
                    Console.Out.Flush();
                }
            }
        })));
        return 0;
    }
}
