using Durably.Storage;

namespace Durably.Scheduling;

// Decides, for one look at a due schedule, which fires start runs and what the schedule's state becomes. Pure: the
// runner reads the record and the previous fire's run status, starts the planned runs (each id derived from the fire,
// so a fire started twice is one run) and then saves the new state conditionally on the version it read.
internal static class SchedulePlanner
{
    // A schedule far behind (a per-second cron after a day down) is walked in passes of this many fires; the runner saves after
    // each pass and looks again. Only the last pass, the one that reaches the present, starts missed fires.
    internal const int MaxFiresPerPass = 100_000;

    public static SchedulePlan Plan(ScheduleRecord record, ScheduleTimes times, DateTimeOffset now, bool previousUnfinished)
    {
        var grace = record.CatchUp.Grace;
        var keepMissed = record.CatchUp.Mode switch
        {
            CatchUpMode.None => 0,
            CatchUpMode.Last => 1,
            _ => Math.Max(1, record.CatchUp.MaxFires),
        };
        var missed = new Queue<DateTimeOffset>();
        var onTime = new List<DateTimeOffset>();
        var skipped = 0;
        var next = record.NextFireAt;
        var walked = 0;
        while (next is { } fire && fire <= now && walked < MaxFiresPerPass)
        {
            walked++;
            if (fire >= now - grace)
            {
                onTime.Add(fire);
            }
            else
            {
                missed.Enqueue(fire);
                if (missed.Count > keepMissed)
                {
                    missed.Dequeue();
                    skipped++;
                }
            }

            next = times.NextAfter(fire);
        }

        var behind = next is { } pending && pending <= now;
        if (behind)
        {
            // Not at the present yet: nothing of this pass starts; the next pass walks on from here.
            return new SchedulePlan([], record with { NextFireAt = next }, walked);
        }

        var starts = new List<DateTimeOffset>();
        var busy = previousUnfinished;
        var buffered = record.BufferedFireAt;
        if (buffered is { } waiting && !busy)
        {
            starts.Add(waiting);
            buffered = null;
            busy = true;
        }

        foreach (var fire in missed.Concat(onTime))
        {
            switch (record.Overlap)
            {
                case ScheduleOverlap.AllowAll:
                    starts.Add(fire);
                    break;
                case ScheduleOverlap.BufferOne when busy:
                    if (buffered is null)
                    {
                        buffered = fire;
                    }
                    else
                    {
                        skipped++;
                    }

                    break;
                default:
                    if (busy)
                    {
                        skipped++;
                    }
                    else
                    {
                        starts.Add(fire);
                        busy = true;
                    }

                    break;
            }
        }

        var updated = record with
        {
            NextFireAt = next,
            BufferedFireAt = buffered,
            LastFireAt = starts.Count > 0 ? starts[^1] : record.LastFireAt,
            LastRunId = starts.Count > 0 ? ScheduleRunIds.ForFire(record.ScheduleId, starts[^1]) : record.LastRunId,
        };
        return new SchedulePlan(starts, updated, skipped);
    }
}

// The fires to start, oldest first, the schedule's new state, and how many fires were skipped.
internal sealed record SchedulePlan(IReadOnlyList<DateTimeOffset> Starts, ScheduleRecord Updated, int Skipped)
{
    public bool Changes(ScheduleRecord before) => Starts.Count > 0 || Updated != before;
}
