using Durably;

namespace DurablyAgent;

/// <summary>A support ticket.</summary>
public sealed record Ticket(string Customer, string Text);

/// <summary>Triages a ticket: classifies it, then notifies the team, once, whatever crashes in between.</summary>
/// <remarks>Workflow code is re-executed from the top after a crash; completed steps return their journaled results, so it
/// must be deterministic apart from what goes through <see cref="RunContext"/> (use ctx.UtcNow, ctx.NewGuid()).
/// Replace the classify step with a model call (Durably.AI's UseDurably() journals it).</remarks>
public sealed class TriageWorkflow(INotifier notifier) : Workflow<Ticket, string>
{
    /// <inheritdoc/>
    public override string Name => "triage";

    /// <inheritdoc/>
    public override async Task<string> RunAsync(RunContext context, Ticket input)
    {
        var category = await context.StepAsync("classify", _ => Task.FromResult(Classify(input.Text)));
        await context.StepAsync("notify", step => notifier.NotifyAsync($"{input.Customer}: {category}", step.IdempotencyKey), StepOptions.IdempotentEffect);
        return category;
    }

    private static string Classify(string text)
        => text.Contains("invoice", StringComparison.OrdinalIgnoreCase) || text.Contains("refund", StringComparison.OrdinalIgnoreCase) ? "billing" : "general";
}
