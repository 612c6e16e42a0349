using Durably.Journal;

namespace Durably.TestHost;

/// <summary>Says exactly what <c>append-loop</c> writes, so a test can recompute every entry the child wrote.</summary>
/// <remarks>
/// Each entry depends only on the seed, the run number and the sequence (timestamps too), never on
/// timing, so the test compares whole entries, not just their sequences.
/// </remarks>
public static class CrashWorkload
{
    /// <summary>Returns the id of run <paramref name="run"/> of the loop started with <paramref name="seed"/>.</summary>
    public static RunId RunIdOf(int seed, int run) => new($"crash-{seed}-{run}");

    /// <summary>Returns the entry the loop writes at <paramref name="sequence"/> of run <paramref name="run"/>.</summary>
    public static JournalEntry EntryAt(int seed, int run, long sequence)
    {
        var timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000 + (seed * 1_000_000L) + sequence);
        if (sequence == 0)
        {
            return new RunStarted { Sequence = 0, Timestamp = timestamp, Workflow = "crash", Input = Payload.FromValue(new { seed, run }) };
        }

        // Sizes from a few bytes to tens of kilobytes, so commits span several pages and overflow chains.
        // Not HashCode.Combine: it is randomized per process, and the test recomputes this in another one.
        var random = new Random(unchecked((int)((((seed * 1_000_003L) + run) * 1_000_003L) + sequence)));
        var length = random.Next(8) == 0 ? random.Next(4_000, 40_000) : random.Next(1, 400);
        var text = string.Create(length, random, static (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = (char)('a' + r.Next(26));
            }
        });
        return new StepCompleted { Sequence = sequence, Timestamp = timestamp, Step = (int)sequence, Result = Payload.FromValue(text), DurationMs = sequence % 7 };
    }
}
