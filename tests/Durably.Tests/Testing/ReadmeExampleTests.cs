using Durably.Testing;

namespace Durably.Tests.Testing;

// The user's test shown in docs/testing-kit.md, word for word.
public sealed class SupportAgentCrashTests
{
    [Fact]
    public Task SupportAgent_CrashedAtEveryStep_RecoversLikeTheReference() =>
        CrashTester.For(SupportAgent.Name, new SupportRequest("ana", "my invoice is wrong"),
                        fakes: () => new FakeOutside(), register: SupportAgent.Register)
                   .AssertReplaySafeAsync();

    [Fact]
    public Task RunsInFlight_ReplayOnTheCurrentCode() =>
        JournalReplayer.AssertReplaysAsync(Path.Combine(AppContext.BaseDirectory, "Golden", "support-agent-in-flight.jsonl"),
                                           runtime => SupportAgent.Register(runtime, new FakeOutside()));

    [Fact]
    public async Task SupportAgent_CrashTestReport_EveryPointMatchesTheReference()
    {
        var report = await CrashTester.For(SupportAgent.Name, new SupportRequest("ana", "my invoice is wrong"),
                                           fakes: () => new FakeOutside(), register: SupportAgent.Register)
                                      .RunAsync();

        Assert.NotEmpty(report.Points);
        Assert.All(report.Points, p => Assert.True(p.Passed && p.OutcomeMatches, report.ToString()));
        Assert.All(report.Points, p => Assert.Empty(p.DuplicateEffects));
    }
}
