using Durably.Journal;

namespace Durably.Tests;

public sealed class RunHistoryTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1767225600000);

    // A journal as the runtime writes it: sequences contiguous from 0, RunStarted first.
    private static List<JournalEntry> Journal(params JournalEntry[] entries)
    {
        JournalEntry[] all = [new RunStarted { Workflow = "agent", Input = Payload.FromJson("1") }, .. entries];
        return [.. all.Select((e, i) => e with { Sequence = i, Timestamp = T0.AddSeconds(i) })];
    }

    [Fact]
    public void FromJournal_CompletedStep_ReplaysItsRecordedResult()
    {
        var history = RunHistory.FromJournal(Journal(
            new StepStarted { Step = 1, Kind = StepKind.Model, Name = "plan", ArgumentHash = "abc" },
            new StepCompleted { Step = 1, Result = Payload.FromJson("\"the plan\""), Usage = new TokenUsage(10, 5) }));

        var step = Assert.Single(history.Steps);
        Assert.Equal((1, StepKind.Model, "plan", "abc"), (step.Step, step.Kind, step.Name, step.ArgumentHash));
        Assert.True(step.HasOutcome);
        Assert.False(step.IsInDoubt);
        Assert.Equal("\"the plan\"", step.Completion!.Result!.ToJsonString());
        Assert.Same(step, history.Find(1));
        Assert.Null(history.Find(2));
        Assert.Equal(1, history.LastStep);
        Assert.Equal(3, history.NextSequence);
        Assert.Empty(history.Pending);
        Assert.False(history.IsFinished);
    }

    [Fact]
    public void FromJournal_FailedAttemptWithRetryScheduled_IsPendingAndCountsAttempts()
    {
        var retryAt = T0.AddMinutes(5);
        var history = RunHistory.FromJournal(Journal(
            new StepStarted { Step = 1, Kind = StepKind.Effect, Name = "charge", Attempt = 1, InDoubt = InDoubtPolicy.Retry },
            new StepFailed { Step = 1, Error = new ErrorInfo("System.TimeoutException", "slow"), Attempt = 1, RetryAt = retryAt }));

        var step = history.Find(1)!;
        Assert.Equal(1, step.Attempts);
        Assert.Equal(retryAt, step.LastFailure!.RetryAt);
        Assert.False(step.FailedForGood);
        Assert.False(step.IsInDoubt);
        Assert.False(step.HasOutcome);
        Assert.Same(step, Assert.Single(history.Pending));
    }

    [Fact]
    public void FromJournal_RetryAttemptWithIntentOnly_IsInDoubt()
    {
        // The second attempt's intent is durable, its outcome is not: the effect may or may not have happened.
        var history = RunHistory.FromJournal(Journal(
            new StepStarted { Step = 1, Kind = StepKind.Effect, Name = "charge", Attempt = 1, InDoubt = InDoubtPolicy.AskHuman },
            new StepFailed { Step = 1, Error = new ErrorInfo("System.TimeoutException", "slow"), Attempt = 1, RetryAt = T0 },
            new StepStarted { Step = 1, Kind = StepKind.Effect, Name = "charge", Attempt = 2, InDoubt = InDoubtPolicy.AskHuman }));

        var step = Assert.Single(history.InDoubt);
        Assert.Equal((2, 2, 1), (step.Attempts, step.Intent!.Attempt, step.Failures.Count));
        Assert.Equal(InDoubtPolicy.AskHuman, step.Intent.InDoubt);
        Assert.True(step.HasOpenIntent);
        Assert.False(step.HasOutcome);
    }

    [Fact]
    public void FromJournal_FinalFailure_ReplaysAsFailedForGood()
    {
        var history = RunHistory.FromJournal(Journal(
            new StepStarted { Step = 1, Kind = StepKind.Compute, Name = "parse" },
            new StepFailed { Step = 1, Error = new ErrorInfo("System.FormatException", "bad input") }));

        var step = history.Find(1)!;
        Assert.True(step.FailedForGood);
        Assert.True(step.HasOutcome);
        Assert.Empty(history.InDoubt);
    }

    [Fact]
    public void FromJournal_ComputeStepNotMarkedInDoubt_EvenWithAnOpenIntent()
    {
        // Only effects can be in doubt: a compute step without an outcome simply runs again.
        var history = RunHistory.FromJournal(Journal(new StepStarted { Step = 1, Kind = StepKind.Compute, Name = "sum" }));

        Assert.Empty(history.InDoubt);
        Assert.Single(history.Pending);
    }

    [Fact]
    public void FromJournal_SignalWaits_RecordConsumedSignalIdsAndPendingWaits()
    {
        var history = RunHistory.FromJournal(Journal(
            new StepStarted { Step = 1, Kind = StepKind.Signal, Name = "approval:publish" },
            new SignalReceived { Step = 1, Name = "approval:publish", Sender = "ana", SignalId = 7, Payload = Payload.FromJson("{\"approved\":true}") },
            new StepStarted { Step = 2, Kind = StepKind.Signal, Name = "reply" },
            new TimerStarted { Step = 2, DueAt = T0.AddHours(1), Name = "reply" }));

        Assert.Equal([7L], history.ConsumedSignalIds);
        var received = history.Find(1)!;
        Assert.Equal(("ana", 7L), (received.Signal!.Sender, received.Signal.SignalId));
        Assert.True(received.HasOutcome);
        var waiting = Assert.Single(history.Pending);
        Assert.Equal((2, T0.AddHours(1)), (waiting.Step, waiting.Timer!.DueAt));
        Assert.Empty(history.InDoubt);
    }

    [Fact]
    public void FromJournal_TimedOutWait_HasAnOutcomeButConsumesNoSignal()
    {
        var history = RunHistory.FromJournal(Journal(
            new StepStarted { Step = 1, Kind = StepKind.Signal, Name = "reply" },
            new SignalReceived { Step = 1, Name = "reply", TimedOut = true }));

        Assert.True(history.Find(1)!.Signal!.TimedOut);
        Assert.True(history.Find(1)!.HasOutcome);
        Assert.Empty(history.ConsumedSignalIds);
    }

    [Fact]
    public void FromJournal_Timer_IsPendingUntilItFires()
    {
        var started = Journal(
            new StepStarted { Step = 1, Kind = StepKind.Timer, Name = "cool-off" },
            new TimerStarted { Step = 1, DueAt = T0.AddDays(1), Name = "cool-off" });
        var fired = Journal([.. started.Skip(1), new TimerFired { Step = 1 }]);

        Assert.Equal(T0.AddDays(1), Assert.Single(RunHistory.FromJournal(started).Pending).Timer!.DueAt);
        var step = RunHistory.FromJournal(fired).Find(1)!;
        Assert.NotNull(step.TimerFired);
        Assert.True(step.HasOutcome);
        Assert.Same(step.TimerFired, step.LastOutcome);
    }

    [Fact]
    public void FromJournal_FinishedRun_RecordsTheEndAndResumptions()
    {
        var history = RunHistory.FromJournal(Journal(
            new StepStarted { Step = 1, Kind = StepKind.Model, Name = "plan" },
            new StepCompleted { Step = 1, Result = Payload.FromJson("2") },
            new RunResumed { ReplayedSteps = 1, Worker = "host-a" },
            new RunCompleted { Result = Payload.FromJson("3") }));

        Assert.True(history.IsFinished);
        Assert.Equal("3", Assert.IsType<RunCompleted>(history.End).Result!.ToJsonString());
        Assert.Equal(1, Assert.Single(history.Resumptions).ReplayedSteps);
        Assert.Equal("agent", history.Started.Workflow);
    }

    [Fact]
    public void FromJournal_StepsOutOfOrder_ListsThemInStepOrder()
    {
        // Parallel steps may be journaled in any order; replay matches them by number.
        var history = RunHistory.FromJournal(Journal(
            new StepStarted { Step = 3, Kind = StepKind.Compute, Name = "c" },
            new StepCompleted { Step = 3 },
            new StepStarted { Step = 2, Kind = StepKind.Compute, Name = "b" },
            new StepCompleted { Step = 2 }));

        Assert.Equal([2, 3], history.Steps.Select(s => s.Step));
        Assert.Equal(3, history.LastStep);
    }

    [Fact]
    public void FromJournal_NoRunStarted_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => RunHistory.FromJournal([new StepCompleted { Step = 1 }]));
        Assert.Contains("RunStarted", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FromJournal_GoldenInFlightJournal_WaitsAtTheApprovalStep()
    {
        await using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Golden", "support-agent-in-flight.jsonl"));
        var journal = Assert.Single(await JournalExport.ReadAsync(file));

        var history = RunHistory.FromJournal(journal.Entries);

        Assert.False(history.IsFinished);
        Assert.All(history.Steps.Where(s => s.Step < 3), s => Assert.True(s.HasOutcome));
        var waiting = Assert.Single(history.Pending);
        Assert.Equal((3, StepKind.Signal, "approval:send-reply"), (waiting.Step, waiting.Kind, waiting.Name));
        Assert.Equal(3, history.LastStep);
    }
}
