using Durably.Scheduling;
using Durably.Storage;

namespace Durably.Tests.Scheduling;

// The overlap and catch-up policies as decisions: a schedule record, the time of the look, and whether the previous fire's
// run is unfinished go in; the fires to start and the new state come out. Times are logical (no clock runs).
public sealed class SchedulePlannerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static ScheduleRecord EveryMinute(ScheduleOverlap overlap = ScheduleOverlap.Skip, CatchUpPolicy? catchUp = null) => new()
    {
        ScheduleId = "s",
        Workflow = "w",
        Interval = TimeSpan.FromMinutes(1),
        Overlap = overlap,
        CatchUp = catchUp ?? CatchUpPolicy.Last,
        NextFireAt = T0,
        Version = 1,
    };

    private static SchedulePlan Plan(ScheduleRecord record, DateTimeOffset now, bool previousUnfinished = false)
        => SchedulePlanner.Plan(record, ScheduleSpecs.TimesOf(record), now, previousUnfinished);

    [Fact]
    public void Plan_OnTimeFire_StartsItAndAdvancesToTheNextFire()
    {
        var plan = Plan(EveryMinute(), T0.AddSeconds(2));

        Assert.Equal([T0], plan.Starts);
        Assert.Equal(T0.AddMinutes(1), plan.Updated.NextFireAt);
        Assert.Equal(T0, plan.Updated.LastFireAt);
        Assert.Equal(new RunId("s@20260301T120000Z"), plan.Updated.LastRunId);
    }

    [Fact]
    public void Plan_NothingDue_ChangesNothing()
    {
        var record = EveryMinute();

        var plan = Plan(record, T0.AddSeconds(-1));

        Assert.Empty(plan.Starts);
        Assert.False(plan.Changes(record));
    }

    [Fact]
    public void Plan_SkipWhilePreviousRunUnfinished_SkipsTheFireButAdvances()
    {
        var record = EveryMinute(ScheduleOverlap.Skip) with { LastRunId = new RunId("s@20260301T115900Z") };

        var plan = Plan(record, T0, previousUnfinished: true);

        Assert.Empty(plan.Starts);
        Assert.Equal(1, plan.Skipped);
        Assert.Equal(T0.AddMinutes(1), plan.Updated.NextFireAt);
        Assert.Equal(record.LastRunId, plan.Updated.LastRunId);
    }

    [Fact]
    public void Plan_AllowAllWhilePreviousRunUnfinished_StartsAnyway()
    {
        var plan = Plan(EveryMinute(ScheduleOverlap.AllowAll), T0, previousUnfinished: true);

        Assert.Equal([T0], plan.Starts);
    }

    [Fact]
    public void Plan_BufferOne_KeepsTheFirstWaitingFireAndStartsItWhenThePreviousFinishes()
    {
        var record = EveryMinute(ScheduleOverlap.BufferOne);

        var first = Plan(record, T0, previousUnfinished: true);
        Assert.Empty(first.Starts);
        Assert.Equal(T0, first.Updated.BufferedFireAt);

        var second = Plan(first.Updated, T0.AddMinutes(1), previousUnfinished: true);
        Assert.Empty(second.Starts);
        Assert.Equal(1, second.Skipped);
        Assert.Equal(T0, second.Updated.BufferedFireAt);

        // The previous run finished between fires: the buffered fire starts at the next look, before the next fire is due.
        var released = Plan(second.Updated, T0.AddMinutes(1).AddSeconds(20), previousUnfinished: false);
        Assert.Equal([T0], released.Starts);
        Assert.Null(released.Updated.BufferedFireAt);
        Assert.Equal(T0.AddMinutes(2), released.Updated.NextFireAt);
        Assert.Equal(ScheduleRunIds.ForFire("s", T0), released.Updated.LastRunId);
    }

    [Fact]
    public void Plan_BufferOneWithPreviousFinished_StartsTheBufferedFireThenBuffersTheDueOne()
    {
        var record = EveryMinute(ScheduleOverlap.BufferOne) with { BufferedFireAt = T0.AddMinutes(-1) };

        var plan = Plan(record, T0, previousUnfinished: false);

        Assert.Equal([T0.AddMinutes(-1)], plan.Starts);
        Assert.Equal(T0, plan.Updated.BufferedFireAt);
    }

    [Fact]
    public void Plan_CatchUpNoneAfterAnHourDown_StartsOnlyTheFiresWithinGrace()
    {
        var plan = Plan(EveryMinute(ScheduleOverlap.AllowAll, CatchUpPolicy.None), T0.AddMinutes(60).AddSeconds(30));

        // Grace is one minute: the fires at 12:59:30 or later are on time, that is 13:00 only; 12:00 to 12:59 were missed.
        Assert.Equal([T0.AddMinutes(60)], plan.Starts);
        Assert.Equal(60, plan.Skipped);
        Assert.Equal(T0.AddMinutes(61), plan.Updated.NextFireAt);
    }

    [Fact]
    public void Plan_CatchUpLastAfterAnHourDown_StartsTheLatestMissedFireAndTheOnTimeOne()
    {
        var plan = Plan(EveryMinute(ScheduleOverlap.AllowAll, CatchUpPolicy.Last), T0.AddMinutes(60).AddSeconds(30));

        Assert.Equal([T0.AddMinutes(59), T0.AddMinutes(60)], plan.Starts);
        Assert.Equal(59, plan.Skipped);
    }

    [Fact]
    public void Plan_CatchUpAllUpToThree_StartsTheLatestThreeMissedOldestFirst()
    {
        var plan = Plan(EveryMinute(ScheduleOverlap.AllowAll, CatchUpPolicy.All(3) with { Grace = TimeSpan.Zero }), T0.AddMinutes(10).AddSeconds(1));

        Assert.Equal([T0.AddMinutes(8), T0.AddMinutes(9), T0.AddMinutes(10)], plan.Starts);
        Assert.Equal(T0.AddMinutes(11), plan.Updated.NextFireAt);
    }

    [Fact]
    public void Plan_CatchUpAllUnderSkip_StartsOnlyTheFirstSinceItIsThenUnfinished()
    {
        var plan = Plan(EveryMinute(ScheduleOverlap.Skip, CatchUpPolicy.All(5) with { Grace = TimeSpan.Zero }), T0.AddMinutes(10).AddSeconds(1));

        Assert.Equal([T0.AddMinutes(6)], plan.Starts);
        Assert.Equal(10, plan.Skipped);
    }

    [Fact]
    public void Plan_FarBehind_WalksInPassesAndStartsOnlyFromTheOneThatReachesThePresent()
    {
        var record = EveryMinute(ScheduleOverlap.AllowAll) with { Interval = TimeSpan.FromSeconds(1), NextFireAt = T0 };
        var now = T0.AddSeconds(SchedulePlanner.MaxFiresPerPass + 100);

        var first = Plan(record, now);
        Assert.Empty(first.Starts);
        Assert.Equal(T0.AddSeconds(SchedulePlanner.MaxFiresPerPass), first.Updated.NextFireAt);

        var second = Plan(first.Updated, now);
        Assert.Equal(now.AddSeconds(-61), second.Starts[0]);
        Assert.Equal(62, second.Starts.Count);
        Assert.Equal(now.AddSeconds(1), second.Updated.NextFireAt);
    }

    [Fact]
    public void NextAfter_CronInATimeZone_FollowsTheZonesClock()
    {
        var times = ScheduleTimes.Create("s", "0 2 * * *", "Europe/Oslo", null);

        // 02:00 in Oslo is 01:00 UTC in winter and 00:00 UTC in summer.
        Assert.Equal(new DateTimeOffset(2026, 1, 11, 1, 0, 0, TimeSpan.Zero), times.NextAfter(new DateTimeOffset(2026, 1, 10, 12, 0, 0, TimeSpan.Zero)));
        Assert.Equal(new DateTimeOffset(2026, 7, 11, 0, 0, 0, TimeSpan.Zero), times.NextAfter(new DateTimeOffset(2026, 7, 10, 12, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void NextAfter_CronWithSeconds_FiresOnTheSecondField()
    {
        var times = ScheduleTimes.Create("s", "*/10 * * * * *", null, null);

        Assert.Equal(T0.AddSeconds(10), times.NextAfter(T0));
        Assert.Equal(T0.AddSeconds(10), times.NextAfter(T0.AddSeconds(9.5)));
    }

    [Fact]
    public void NextAfter_Interval_IsAlignedToMultiplesSinceTheEpoch()
    {
        var times = ScheduleTimes.Create("s", null, null, TimeSpan.FromMinutes(15));

        Assert.Equal(T0.AddMinutes(15), times.NextAfter(T0.AddMinutes(7)));
        Assert.Equal(T0.AddMinutes(15), times.NextAfter(T0));
    }

    [Theory]
    [InlineData("0 2 * *", null, null, "cannot be read")]
    [InlineData("0 2 * * *", "Mars/Olympus", null, "does not know")]
    [InlineData(null, null, 1500, "whole number of seconds")]
    [InlineData("0 2 * * *", null, 60000, "exactly one of Cron and Interval")]
    [InlineData(null, null, null, "exactly one of Cron and Interval")]
    public void Create_BadSpec_ThrowsArgumentExceptionSayingWhatToChange(string? cron, string? zone, int? intervalMs, string expected)
    {
        var interval = intervalMs is { } ms ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null;

        var error = Assert.Throws<ArgumentException>(() => ScheduleTimes.Create("s", cron, zone, interval));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("at@sign")]
    [InlineData("-leading")]
    public void CheckId_BadId_Throws(string id) => Assert.Throws<ArgumentException>(() => ScheduleSpecs.CheckId(id));

    [Fact]
    public void ForFire_RoundTripsThroughTryParseFire()
    {
        var runId = ScheduleRunIds.ForFire("nightly-report", new DateTimeOffset(2026, 12, 3, 3, 0, 0, TimeSpan.FromHours(1)));

        Assert.Equal("nightly-report@20261203T020000Z", runId.Value);
        Assert.True(ScheduleRunIds.TryParseFire(runId, out var id, out var fire));
        Assert.Equal("nightly-report", id);
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 2, 0, 0, TimeSpan.Zero), fire);
        Assert.False(ScheduleRunIds.TryParseFire(ScheduleRunIds.ForTrigger("nightly-report", 2), out _, out _));
    }
}
