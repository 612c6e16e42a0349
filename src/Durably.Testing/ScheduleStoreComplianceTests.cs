using Durably.Journal;
using Durably.Scheduling;
using Durably.Storage;
using Xunit;

namespace Durably.Testing;

/// <summary>Defines the contract every <see cref="IScheduleStore"/> must keep; subclass it once per store that supports schedules.</summary>
/// <remarks>Each test creates a fresh, empty store through <see cref="CreateStoreAsync"/>; the store must implement both
/// <see cref="IJournalStore"/> and <see cref="IScheduleStore"/>. The version check of saves is what keeps two workers from
/// starting one fire twice, so it is tested under contention.</remarks>
public abstract class ScheduleStoreComplianceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Creates a fresh, empty store that implements <see cref="IScheduleStore"/>.</summary>
    protected abstract Task<IJournalStore> CreateStoreAsync();

    /// <summary>Builds a schedule record that has not been stored yet (version 0).</summary>
    protected static ScheduleRecord NewSchedule(string id, DateTimeOffset? nextFireAt = null) => new()
    {
        ScheduleId = id,
        Workflow = "report",
        Input = Payload.FromJson("{\"team\":\"ops\"}"),
        Cron = "0 2 * * *",
        TimeZone = "Europe/Oslo",
        Overlap = ScheduleOverlap.BufferOne,
        CatchUp = CatchUpPolicy.All(5) with { Grace = TimeSpan.FromSeconds(30) },
        NextFireAt = nextFireAt ?? T0.AddHours(2),
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    private async Task<(IJournalStore Journal, IScheduleStore Schedules)> OpenAsync()
    {
        var store = await CreateStoreAsync();
        return (store, Assert.IsAssignableFrom<IScheduleStore>(store));
    }

    // The test names say what each test checks (Method_Scenario_Expected).
#pragma warning disable CS1591
    [Fact]
    public async Task SaveSchedule_New_StoresVersionOneAndRoundTripsEveryField()
    {
        var (journal, store) = await OpenAsync();
        await using var _ = journal;
        var record = NewSchedule("nightly") with
        {
            LastFireAt = T0.AddDays(-1),
            LastRunId = ScheduleRunIds.ForFire("nightly", T0.AddDays(-1)),
            BufferedFireAt = T0.AddMinutes(-5),
            TriggerCount = 3,
        };

        var saved = await store.SaveScheduleAsync(record);

        Assert.Equal(record with { Version = 1 }, saved);
        Assert.Equal(saved, await store.GetScheduleAsync("nightly"));
        Assert.Null(await store.GetScheduleAsync("other"));
    }

    [Fact]
    public async Task SaveSchedule_VersionNotTheStoredOne_ReturnsNullAndWritesNothing()
    {
        var (journal, store) = await OpenAsync();
        await using var _ = journal;
        var v1 = (await store.SaveScheduleAsync(NewSchedule("s")))!;
        var v2 = (await store.SaveScheduleAsync(v1 with { Paused = true }))!;
        Assert.Equal(2, v2.Version);

        Assert.Null(await store.SaveScheduleAsync(v1 with { TriggerCount = 9 }));
        Assert.Null(await store.SaveScheduleAsync(NewSchedule("s")));
        Assert.Null(await store.SaveScheduleAsync(NewSchedule("missing") with { Version = 4 }));

        Assert.Equal(v2, await store.GetScheduleAsync("s"));
        Assert.Null(await store.GetScheduleAsync("missing"));
    }

    [Fact]
    public async Task SaveSchedule_ManyWritersOfOneVersion_ExactlyOneWins()
    {
        var (journal, store) = await OpenAsync();
        await using var _ = journal;
        var v1 = (await store.SaveScheduleAsync(NewSchedule("contended")))!;

        var attempts = await Task.WhenAll(Enumerable.Range(1, 16).Select(i => Task.Run(() => store.SaveScheduleAsync(v1 with { TriggerCount = i }))));

        var winner = Assert.Single(attempts, a => a is not null)!;
        Assert.Equal(2, winner.Version);
        Assert.Equal(winner, await store.GetScheduleAsync("contended"));
    }

    [Fact]
    public async Task SaveSchedule_ManyCreatorsOfOneId_ExactlyOneWins()
    {
        var (journal, store) = await OpenAsync();
        await using var _ = journal;

        var attempts = await Task.WhenAll(Enumerable.Range(1, 16).Select(i => Task.Run(() => store.SaveScheduleAsync(NewSchedule("created") with { TriggerCount = i }))));

        var winner = Assert.Single(attempts, a => a is not null)!;
        Assert.Equal(winner, await store.GetScheduleAsync("created"));
    }

    [Fact]
    public async Task ListSchedules_DueBy_ReturnsDueAndBufferedButNotPausedOrLater_InIdOrder()
    {
        var (journal, store) = await OpenAsync();
        await using var _ = journal;
        await store.SaveScheduleAsync(NewSchedule("c-due", T0));
        await store.SaveScheduleAsync(NewSchedule("a-due", T0.AddSeconds(-10)));
        await store.SaveScheduleAsync(NewSchedule("b-later", T0.AddMinutes(1)));
        await store.SaveScheduleAsync(NewSchedule("d-paused", T0.AddSeconds(-10)) with { Paused = true });
        await store.SaveScheduleAsync(NewSchedule("e-buffered", T0.AddHours(1)) with { BufferedFireAt = T0.AddSeconds(-1) });
        await store.SaveScheduleAsync(NewSchedule("f-ended") with { NextFireAt = null });

        var due = await store.ListSchedulesAsync(new ScheduleQuery { DueBy = T0 });
        var all = await store.ListSchedulesAsync(new ScheduleQuery());
        var two = await store.ListSchedulesAsync(new ScheduleQuery { MaxCount = 2 });

        Assert.Equal(["a-due", "c-due", "e-buffered"], due.Select(s => s.ScheduleId));
        Assert.Equal(["a-due", "b-later", "c-due", "d-paused", "e-buffered", "f-ended"], all.Select(s => s.ScheduleId));
        Assert.Equal(["a-due", "b-later"], two.Select(s => s.ScheduleId));
    }

    [Fact]
    public async Task ListSchedules_AfterResavingLater_NoLongerDue()
    {
        var (journal, store) = await OpenAsync();
        await using var _ = journal;
        var v1 = (await store.SaveScheduleAsync(NewSchedule("moving", T0)))!;
        await store.SaveScheduleAsync(v1 with { NextFireAt = T0.AddHours(1) });

        Assert.Empty(await store.ListSchedulesAsync(new ScheduleQuery { DueBy = T0 }));
        Assert.Single(await store.ListSchedulesAsync(new ScheduleQuery { DueBy = T0.AddHours(1) }));
    }

    [Fact]
    public async Task DeleteSchedule_RemovesItAndSaysWhetherItExisted()
    {
        var (journal, store) = await OpenAsync();
        await using var _ = journal;
        var v1 = (await store.SaveScheduleAsync(NewSchedule("gone")))!;

        Assert.True(await store.DeleteScheduleAsync("gone"));
        Assert.False(await store.DeleteScheduleAsync("gone"));
        Assert.Null(await store.GetScheduleAsync("gone"));
        Assert.Null(await store.SaveScheduleAsync(v1));
        Assert.Equal(1, (await store.SaveScheduleAsync(NewSchedule("gone")))!.Version);
    }
#pragma warning restore CS1591
}
