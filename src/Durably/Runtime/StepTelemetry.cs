using System.Diagnostics;

namespace Durably;

/// <summary>Tells the runtime how to report one step to OpenTelemetry: its span's name and attributes, and the model a model step calls.</summary>
/// <remarks>
/// <para>Integrations set it through <see cref="StepOptions.Telemetry"/>: <c>Durably.AI</c> names a model step's span
/// <c>chat {model}</c> and a tool step's <c>execute_tool {name}</c> with the OpenTelemetry GenAI <c>gen_ai.*</c> attributes.
/// The span is the step's own <c>durably.step</c> activity (its operation name stays <c>durably.step</c>), so each step is
/// one span, live or replayed.</para>
/// <para>Nothing here is journaled, so it may change between executions without affecting replay.</para>
/// </remarks>
public sealed record StepTelemetry
{
    /// <summary>Gets the span's display name, for example <c>chat gpt-4o</c>; <c>durably.step</c> when <see langword="null"/>.</summary>
    public string? SpanName { get; init; }

    /// <summary>Gets the model a model step asks for; tags the token metrics (<c>gen_ai.request.model</c>).</summary>
    public string? Model { get; init; }

    /// <summary>Gets attributes known before the step runs, set on its span when it starts.</summary>
    public IReadOnlyList<KeyValuePair<string, object?>>? Tags { get; init; }

    /// <summary>Gets an action that adds what the step's outcome tells to its span, called once the outcome is known (after the body ran, or when it was replayed).</summary>
    /// <remarks>Called only while a listener records Durably's spans, on the thread that finished the step; it must be fast and must not throw.</remarks>
    public Action<Activity, StepSpanOutcome>? Describe { get; init; }
}

/// <summary>Describes a step's outcome to <see cref="StepTelemetry.Describe"/>.</summary>
/// <param name="Replayed">Whether the outcome came from the journal instead of running the body.</param>
/// <param name="Result">The step's result (<see langword="null"/> when it failed).</param>
/// <param name="Usage">The tokens the body reported while it ran; always <see langword="null"/> for a replayed step, whose recorded
/// usage the runtime reports as <c>durably.tokens_saved.*</c> instead, so that a trace never counts the same tokens twice.</param>
public sealed record StepSpanOutcome(bool Replayed, object? Result, TokenUsage? Usage);
