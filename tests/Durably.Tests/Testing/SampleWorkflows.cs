using System.Collections.Concurrent;

namespace Durably.Tests.Testing;

// The outside world of the sample workflows: it applies each effect once per idempotency key, as a real API with
// an Idempotency-Key header would, and records every call.
public sealed class FakeOutside
{
    private readonly ConcurrentDictionary<string, string> _applied = new();
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public int Applied => _applied.Count;

    public Task<string> ApplyAsync(string what, string idempotencyKey)
    {
        Interlocked.Increment(ref _calls);
        return Task.FromResult(_applied.GetOrAdd(idempotencyKey, _ => $"{what} ({idempotencyKey})"));
    }

    public bool WasApplied(string idempotencyKey) => _applied.ContainsKey(idempotencyKey);
}

public sealed record SupportRequest(string Customer, string Question);

public sealed record SupportSummary(string Plan, string Ticket, bool Replied, string FollowUp, Guid CaseId);

// A support agent: asks a model for a plan, opens a ticket, waits for a person to approve the reply, sends it, and
// follows up a day later. Replay-safe.
public static class SupportAgent
{
    public const string Name = "support-agent";

    public static void Register(DurableRuntime runtime, FakeOutside world) => runtime.Register<SupportRequest, SupportSummary>(Name, async (ctx, request) =>
    {
        var caseId = ctx.NewGuid();
        var plan = await ctx.StepAsync("plan", _ => Task.FromResult($"plan for {request.Customer}: {request.Question}"), StepOptions.Model);
        var ticket = await ctx.StepAsync("open-ticket", step => world.ApplyAsync($"ticket for {request.Customer}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        var approval = await ctx.WaitForApprovalAsync("send-reply");
        if (approval.Approved)
        {
            await ctx.StepAsync("send-reply", step => world.ApplyAsync($"reply to {request.Customer}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        }

        await ctx.SleepAsync(TimeSpan.FromDays(1), "wait-a-day");
        var now = ctx.UtcNow;
        var followUp = await ctx.StepAsync("follow-up", step => world.ApplyAsync($"follow-up at {now:O}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        return new SupportSummary(plan, ticket, approval.Approved, followUp, caseId);
    });
}

public sealed record Receipt(Guid OrderId, string Charge);

// Broken on purpose: the order id comes from Guid.NewGuid(), so every replay makes another one.
public sealed class CheckoutWithNewGuid(FakeOutside payments) : Workflow<decimal, Receipt>
{
    public override string Name => "checkout";

    public override async Task<Receipt> RunAsync(RunContext context, decimal amount)
    {
        // DURABLY002 flags this at compile time; it is suppressed so the crash tester must catch it at run time.
#pragma warning disable DURABLY002
        var orderId = Guid.NewGuid();
#pragma warning restore DURABLY002
        var charge = await context.StepAsync("charge", step => payments.ApplyAsync($"charge {amount} for {orderId}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        return new Receipt(orderId, charge);
    }
}

// Broken on purpose: the order of two effects depends on how long a step took by the wall clock. A replayed step
// takes no time, so replay takes the other branch.
public static class ShipOrderByWallClock
{
    public const string Name = "ship-order";

    public static void Register(DurableRuntime runtime, FakeOutside world) => runtime.Register<string, string>(Name, async (ctx, order) =>
    {
        // DURABLY001 flags both clock reads at compile time; suppressed so the crash tester must catch them at run time.
#pragma warning disable DURABLY001
        var started = DateTime.UtcNow;
        await ctx.StepAsync("check-stock", async _ =>
        {
            await Task.Delay(500);
            return 3;
        });
        var slow = DateTime.UtcNow - started > TimeSpan.FromMilliseconds(200);
#pragma warning restore DURABLY001
        string[] order2 = slow ? ["notify-delay", "charge-card"] : ["charge-card", "notify-delay"];
        foreach (var name in order2)
        {
            await ctx.StepAsync(name, step => world.ApplyAsync($"{name} {order}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        }

        return $"shipped {order}";
    });
}
