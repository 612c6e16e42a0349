using System.Text.Json;

namespace Durably.AI;

/// <summary>Describes a model step or a tool step of a run as a person reads it: the reply and the tool calls asked for, or the tool's name, arguments and result.</summary>
/// <remarks>Made by <see cref="AIStepViews.Read"/> for inspection tools (the <c>durably</c> CLI and its dashboard). The journal's exact data is unchanged; this is a reading of it.</remarks>
public sealed record AIStepView
{
    /// <summary>Gets the step number.</summary>
    public required int Step { get; init; }

    /// <summary>Gets the model id that answered a model step, when the response names one.</summary>
    public string? Model { get; init; }

    /// <summary>Gets a model step's reply text (all assistant text of the response), or <see langword="null"/> when it has none.</summary>
    public string? Text { get; init; }

    /// <summary>Gets the tool calls a model step's response asked for, in order.</summary>
    public IReadOnlyList<AIToolCallView> ToolCalls { get; init; } = [];

    /// <summary>Gets a tool step's tool name, or <see langword="null"/> for a model step.</summary>
    public string? Tool { get; init; }

    /// <summary>Gets a tool step's arguments, as the model step before it asked for them, when found.</summary>
    public JsonElement? Arguments { get; init; }

    /// <summary>Gets a tool step's result as JSON; a string holding JSON (as tools that return serialized JSON produce) is read as that JSON.</summary>
    public JsonElement? Result { get; init; }
}
