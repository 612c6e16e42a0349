using Durably.Journal;
using Durably.Storage;

namespace Durably.Tests.Runtime;

public sealed class SagaTests
{
    private static readonly RunId Id = new("saga-run");

    private static void Register(DurableRuntime runtime, List<string> log, bool failLast)
        => runtime.Register<int, string>("trip", async (ctx, _) =>
        {
            foreach (var booking in new[] { "flight", "hotel" })
            {
                await ctx.StepAsync($"book-{booking}", _ =>
                {
                    lock (log)
                    {
                        log.Add("book " + booking);
                    }

                    return Task.FromResult(booking);
                }, StepOptions.IdempotentEffect with
                {
                    Compensate = step =>
                    {
                        lock (log)
                        {
                            log.Add($"cancel {booking} ({step.Name})");
                        }

                        return Task.CompletedTask;
                    },
                });
            }

            if (failLast)
            {
                await ctx.StepAsync<int>("book-car", _ => throw new InvalidOperationException("no cars left"), StepOptions.IdempotentEffect);
            }

            await ctx.WaitForApprovalAsync("trip");
            return "booked";
        });

    [Fact]
    public async Task Failure_RunsCompensationsInReverseAndEndsCompensated()
    {
        await using var harness = new RuntimeHarness();
        var log = new List<string>();
        var runtime = await harness.StartAsync(r => Register(r, log, failLast: true));

        var ex = await Assert.ThrowsAsync<RunFailedException>(async () => await (await runtime.Client.StartAsync("trip", 0, new StartRunOptions { RunId = Id })).GetResultAsync<string>(RuntimeHarness.Timeout));

        Assert.Equal(RunStatus.Compensated, ex.Status);
        Assert.Contains("no cars left", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["book flight", "book hotel", "cancel hotel (compensate:book-hotel)", "cancel flight (compensate:book-flight)"], log);
        var compensations = (await harness.Store.ReadAsync(Id)).OfType<StepStarted>().Where(s => s.Kind == StepKind.Compensation).Select(s => s.Name);
        Assert.Equal(["compensate:book-hotel", "compensate:book-flight"], compensations);
    }

    [Fact]
    public async Task Cancel_WaitingRun_CompensatesAfterRestartWithoutRebooking()
    {
        await using var harness = new RuntimeHarness();
        var log = new List<string>();
        var first = await harness.StartAsync(r => Register(r, log, failLast: false));
        await first.Client.StartAsync("trip", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);
        await first.DisposeAsync();

        var second = await harness.StartAsync(r => Register(r, log, failLast: false));
        await second.Client.CancelAsync(new CancelRequest(Id) { Reason = "customer changed plans" });

        var ex = await Assert.ThrowsAsync<RunFailedException>(() => second.Client.GetResultAsync<string>(Id, RuntimeHarness.Timeout));
        Assert.Equal(RunStatus.Compensated, ex.Status);
        Assert.Equal(["book flight", "book hotel", "cancel hotel (compensate:book-hotel)", "cancel flight (compensate:book-flight)"], log);
        Assert.Equal("customer changed plans", (await harness.Store.ReadAsync(Id)).OfType<RunCancelled>().Single().Reason);
    }

    [Fact]
    public async Task Cancel_RunWithoutCompensations_EndsCancelled()
    {
        await using var harness = new RuntimeHarness();
        var runtime = await harness.StartAsync(r => r.Register<int, int>("wait", async (ctx, _) => await ctx.WaitForSignalAsync<int>("x")));
        await runtime.Client.StartAsync("wait", 0, new StartRunOptions { RunId = Id });
        await harness.WaitForStatusAsync(Id, s => s == RunStatus.Suspended);

        await runtime.Client.CancelAsync(Id);

        Assert.Equal(RunStatus.Cancelled, (await harness.WaitForStatusAsync(Id, s => s.IsFinished())).Status);
    }
}
