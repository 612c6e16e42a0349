using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Durably.Testing;
using Microsoft.Extensions.AI;

namespace AgentDemo.Tests;

// The demo agent's workflow under the crash tester: crashed after every durable write and inside every effect's
// in-doubt window, recovered, and compared with an uninterrupted run.
public sealed class ResearchAgentCrashTests
{
    [Fact]
    public Task ResearchAgent_CrashedAtEveryStep_RecoversLikeTheReference() =>
        CrashTester.For(ResearchAgent.Name, "crash-safe AI agents",
                        fakes: () => new DemoWorld(),
                        register: (runtime, world) => ResearchAgent.Register(runtime, world.Model, world.Http, world.Options))
                   .AssertReplaySafeAsync();

    [Fact]
    public async Task ResearchAgent_CrashTestReport_CoversEveryStepWithoutDuplicatesOrRepeatedModelCalls()
    {
        var report = await CrashTester.For(ResearchAgent.Name, "crash-safe AI agents",
                                           fakes: () => new DemoWorld(),
                                           register: (runtime, world) => ResearchAgent.Register(runtime, world.Model, world.Http, world.Options))
                                      .RunAsync();

        Assert.True(report.Points.Count > 12, report.ToString()); // every step boundary plus the in-doubt windows
        Assert.All(report.Points, p => Assert.True(p.Passed, report.ToString()));
        Assert.All(report.Points, p => Assert.Empty(p.DuplicateEffects));
        Assert.All(report.Points, p => Assert.Empty(p.RepeatedModelSteps));
        Assert.All(report.Points, p => Assert.Null(p.NonDeterminism));
    }

    // The outside world for one crash scenario: the scripted model, tool endpoints answered in memory, a scratch folder.
    private sealed class DemoWorld
    {
        public IChatClient Model { get; } = ScriptedModel.Create();

        public HttpClient Http { get; } = new(new FakeTools());

        public DemoOptions Options { get; } = new() { ToolsUrl = "http://tools.test", TimerSeconds = 60, OutputFolder = Path.Combine(Path.GetTempPath(), "durably-demo-crashtest", Guid.NewGuid().ToString("N")) };
    }

    private sealed class FakeTools : HttpMessageHandler
    {
        private readonly ConcurrentDictionary<string, string> _answers = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var key = request.Headers.GetValues("Idempotency-Key").Single();
            var answer = _answers.GetOrAdd(key + request.RequestUri!.AbsolutePath, _ => System.Text.Json.JsonSerializer.Serialize(new { path = request.RequestUri.AbsolutePath, query = request.RequestUri.Query }));
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer, Encoding.UTF8, "application/json") });
        }
    }
}
